"""Keeping credentials out of text we show: error messages, span attributes, URLs.

Two tools. `redact_url` is exact: it knows a URL's structure and replaces the user info and the
values of sensitive query parameters with `REDACTED` (the OpenTelemetry convention for
`url.full`). `scrub_text` is a safety net under every error message: free text has no
structure, so it matches the shapes credentials usually take (`Authorization: …`, `Bearer …`,
`token=…`, URL user info, well-known token prefixes, JWTs). It cannot recognise an arbitrary
secret, which is why the code that builds messages never puts headers or bodies in them.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "REDACTED"

_SENSITIVE_PARTS = (
    "token",
    "secret",
    "password",
    "passwd",
    "apikey",
    "api_key",
    "api-key",
    "signature",
    "credential",
    "auth",
    "session",
    "private",
)
_SENSITIVE_EXACT = frozenset({"key", "sig", "pwd", "code", "pass", "client_secret", "access_key"})

_KEY_VALUE_SHAPE = r"[\w.\-\[\]]*(?:token|secret|passw(?:or)?d|api[_-]?key|signature|sig|auth)"
_SCRUBBERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://)[^/\s:@]+:[^/\s@]*@"), rf"\1{REDACTED}:{REDACTED}@"),
    (
        re.compile(
            r"(?i)\b((?:proxy-)?authorization|cookie|set-cookie|x-api-key|api-key)"
            r"(['\"]?\s*[:=]\s*['\"]?)[^\r\n'\"]+"
        ),
        rf"\1\2{REDACTED}",
    ),
    (re.compile(r"(?i)\b(bearer|basic|digest|token)\s+[\w.~+/=\-]{6,}"), rf"\1 {REDACTED}"),
    (re.compile(rf"(?i)({_KEY_VALUE_SHAPE}[\w.\-\[\]]*)=([^&\s#'\",;]+)"), rf"\1={REDACTED}"),
    (re.compile(r"\beyJ[\w\-]+\.[\w\-]+\.[\w\-]+"), REDACTED),
    (re.compile(r"\b(?:whsec|shpss|shpat|xox[abpr])_?[\w+/=\-]{8,}"), REDACTED),
    (re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_\w{6,}"), REDACTED),
    (re.compile(r"\bgh[pousr]_\w{16,}"), REDACTED),
)


def is_sensitive_key(name: str) -> bool:
    """Whether a query parameter or field called `name` probably carries a credential."""
    key = name.lower()
    return key in _SENSITIVE_EXACT or any(part in key for part in _SENSITIVE_PARTS)


def redact_url(url: str, extra_keys: Collection[str] = ()) -> str:
    """`url` with user info and the values of sensitive (or `extra_keys`) parameters redacted."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}:{REDACTED}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [
                (key, REDACTED if key in extra_keys or is_sensitive_key(key) else value)
                for key, value in pairs
            ],
            safe="[]",
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def scrub_text(text: str) -> str:
    """`text` with everything shaped like a credential replaced by `REDACTED`."""
    for pattern, replacement in _SCRUBBERS:
        text = pattern.sub(replacement, text)
    return text
