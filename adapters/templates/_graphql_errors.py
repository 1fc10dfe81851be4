"""What a GraphQL answer's failure means, as a plain function over plain data.

A GraphQL server may fail a request with an HTTP status (handled as for REST templates) or
answer 200 with an `errors` array. Each error's code (`extensions.code` unless the template
says otherwise) decides, the most urgent first:

    a code under `auth`           AuthError       stop, ask to reconnect
    a code under `rate_limited`   RateLimited     wait `retry_after` (the error's own wait, e.g.
      (or HTTP 429)                               Monday's `extensions.retry_in_seconds`), ask again
    a code under `retry`          TransientError  back off, ask again
    anything else                 PermanentError  with the server's message (cut short)

An answer with errors is a failed request even if it carries partial `data`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from adapters._errors import (
    AuthError,
    IntegrationError,
    PermanentError,
    RateLimited,
    TransientError,
)
from adapters._http_rules import classify_status
from adapters._values import JsonValue
from adapters.templates._graphql_model import GraphQLErrors
from adapters.templates._records import read_path

MAX_WAIT = 3600.0  # seconds: a longer wait the peer asks for is capped
_MESSAGE_CHARS = 300


def graphql_problem(
    status: int,
    headers: Mapping[str, str],
    body: JsonValue,
    rules: GraphQLErrors,
    *,
    adapter: str,
    now: datetime,
) -> IntegrationError | None:
    """The error an answer stands for, or None when its `data` can be read."""
    errors = body.get("errors") if isinstance(body, Mapping) else None
    if isinstance(errors, list) and errors:
        hint = None
        if status == 429:
            limited = classify_status(status, headers, now)
            hint = limited.retry_after if isinstance(limited, TransientError) else None
        return _errors_problem(errors, rules, adapter=adapter, status=status, hint=hint)
    if status >= 400:
        return classify_status(status, headers, now, context=f"{adapter}: ")
    if not isinstance(body, Mapping) or not isinstance(body.get("data"), Mapping):
        return PermanentError(f"{adapter}: the answer carries no data")
    return None


def _errors_problem(
    errors: Sequence[JsonValue],
    rules: GraphQLErrors,
    *,
    adapter: str,
    status: int = 200,
    hint: float | None = None,
) -> IntegrationError:
    """The error a non-empty `errors` array stands for (`hint`: the HTTP Retry-After)."""
    codes = [_code(error, rules.code_path) for error in errors]
    waits = [w for w in (_wait(error, rules.retry_after) for error in errors) if w is not None]
    wait = max(waits) if waits else hint
    auth = _first(codes, rules.auth)
    if auth is not None:
        return AuthError(f"{adapter}: the API refused the credentials ({auth}); reconnect")
    limited = _first(codes, rules.rate_limited)
    if limited is not None or status == 429:
        after = "" if wait is None else f" (retry after {wait:g} s)"
        return RateLimited(wait, f"{adapter}: {limited or 'HTTP 429'}: rate limited{after}")
    retry = _first(codes, rules.retry)
    if retry is not None:
        return TransientError(f"{adapter}: {retry}: {_message(errors)}", retry_after=wait)
    code = next((code for code in codes if code), None)
    label = f"GraphQL error {code}" if code else "GraphQL error"
    return PermanentError(f"{adapter}: {label}: {_message(errors)}")


def _code(error: JsonValue, path: str) -> str | None:
    code = read_path(error, path)
    return code if isinstance(code, str) and code else None


def _wait(error: JsonValue, paths: Sequence[str]) -> float | None:
    """The first wait the error states at one of `paths` (seconds, capped)."""
    for path in paths:
        seconds = _seconds(read_path(error, path))
        if seconds is not None:
            return min(seconds, MAX_WAIT)
    return None


def _seconds(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None


def _first(codes: Sequence[str | None], wanted: Sequence[str]) -> str | None:
    return next((code for code in codes if code is not None and code in wanted), None)


def _message(errors: Sequence[JsonValue]) -> str:
    first = errors[0]
    text = first.get("message") if isinstance(first, Mapping) else None
    message = " ".join(text.split()) if isinstance(text, str) and text.strip() else "no message"
    if len(message) > _MESSAGE_CHARS:
        message = message[: _MESSAGE_CHARS - 1] + "…"
    more = len(errors) - 1
    return message + (f" (and {more} more)" if more else "")
