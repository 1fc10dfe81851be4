"""Turning a pydantic `ValidationError` into problems a person can act on.

The API renders them as problem+json and the CLI as lines, so the shape is ours, not
pydantic's. The offending value is never included: pydantic's `input` is dropped for every
field, which is the only way to be sure a credential (or a secret pasted into the wrong field)
does not end up in a response or a log. Messages that do quote a value (a cron expression, an
adapter name) are written by our own validators for fields that are never secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError
from pydantic_core import ErrorDetails

_KEY_MARK = "[key]"
_PART_CHARS = 80
_PREFIXES = ("Value error, ", "Assertion failed, ")
_MESSAGES = {
    "extra_forbidden": "unknown field",
    "string_unicode": "must be valid Unicode (it contains a lone surrogate)",
}


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """`field` is a dotted path (`schedule.cron`, `endpoints.0.url`; empty: the whole input)."""

    field: str
    message: str


def describe_validation_error(error: ValidationError) -> list[FieldProblem]:
    return [_problem(detail) for detail in error.errors(include_url=False, include_input=False)]


def _problem(detail: ErrorDetails) -> FieldProblem:
    loc = detail["loc"]
    message = _MESSAGES.get(detail["type"], detail["msg"])
    for prefix in _PREFIXES:
        message = message.removeprefix(prefix)
    if loc and loc[-1] == _KEY_MARK:
        loc = loc[:-1]
        message = f"invalid key: {message}"
    return FieldProblem(".".join(_shown(part) for part in loc), message)


def _shown(part: str | int) -> str:
    """A path part fit for a terminal: a rejected key may hold NUL or a lone surrogate."""
    text = str(part)
    if not text.isprintable():
        text = repr(text)[1:-1]
    return text if len(text) <= _PART_CHARS else f"{text[: _PART_CHARS - 1]}…"
