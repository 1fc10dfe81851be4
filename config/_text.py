"""Text rules every string in the configuration obeys.

Configuration travels into SQL parameters, JSON, HTTP headers and log lines. NUL and lone
surrogates break some of those (PostgreSQL rejects NUL in text, UTF-8 encoders reject
surrogates), so they are refused at the edge with a clear message instead of failing deep in
a store. Anything else, SQL metacharacters included, is plain text and kept unchanged: queries
are parameterised, never assembled from strings.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints


def check_text(value: str) -> str:
    """Refuse NUL and lone surrogates; everything else passes unchanged."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (it contains a lone surrogate)") from None
    return value


def check_line(value: str) -> str:
    """`check_text`, and a single line: no control characters at all (tabs and newlines too)."""
    check_text(value)
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise ValueError("must be a single line without control characters")
    return value


def check_not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Identifier = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"), AfterValidator(check_line)
]
"""A field or entity name: letters, digits and `_`, starting with a letter or `_`."""
