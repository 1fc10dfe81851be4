"""The thin I/O layer: WebDAV requests through the integration's shared `HttpClient`.

The client brings the rate limiter, retries with backoff, timeouts, spans and the error
taxonomy (401/403 -> AuthError, 5xx and timeouts -> TransientError). Here only what WebDAV
adds: PROPFIND and REPORT are safe, so they are retried like GETs; a 404 on a collection we
were told to use is a ConfigError; an invalid sync token (RFC 6578 `valid-sync-token`
precondition, 403 or 409) is `InvalidSyncToken`, for the adapter to resync the calendar.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from adapters._errors import ConfigError, PermanentError
from adapters._http import HttpClient
from adapters._http_rules import classify_status
from adapters._http_transport import HttpResponse
from adapters._redact import redact_url
from adapters.caldav._xml import (
    DAV,
    Multistatus,
    error_conditions,
    parse_multistatus,
    propfind,
    sync_collection,
)
from runtime.vault import Secret

_XML = 'application/xml; charset="utf-8"'
_VALID_SYNC_TOKEN = f"{{{DAV}}}valid-sync-token"


class InvalidSyncToken(Exception):  # a signal to the adapter, not an error
    """The server no longer accepts the calendar's sync token: read the calendar whole."""


class Dav:
    """PROPFIND and REPORT for one integration, authorised with `authorization`."""

    def __init__(self, http: HttpClient, authorization: Secret[str], timeout: float) -> None:
        self._http = http
        self._authorization = authorization
        self._timeout = timeout

    async def propfind(
        self, url: str, props: Iterable[str], *, depth: int, what: str
    ) -> Multistatus:
        """PROPFIND `url`; `what` names it in a 404's ConfigError ("the calendar home")."""
        response = await self._send("PROPFIND", url, propfind(props), depth=depth, what=what)
        return parse_multistatus(response.body, f"PROPFIND {redact_url(url)}")

    async def report(self, url: str, body: bytes, *, what: str) -> Multistatus:
        response = await self._send("REPORT", url, body, depth=1, what=what)
        return parse_multistatus(response.body, f"REPORT {redact_url(url)}")

    async def sync_collection(self, url: str, token: str | None, *, what: str) -> Multistatus:
        """The changes since `token`; `InvalidSyncToken` when the server refuses the token."""
        response = await self._send(
            "REPORT", url, sync_collection(token), depth=1, what=what, allow=(403, 409)
        )
        where = f"REPORT {redact_url(url)}"
        if response.status in (403, 409):
            if _VALID_SYNC_TOKEN in error_conditions(response.body):
                raise InvalidSyncToken(where)
            problem = classify_status(
                response.status, response.headers, datetime.now(UTC), context=f"{where}: "
            )
            raise problem or PermanentError(f"{where}: HTTP {response.status}")
        return parse_multistatus(response.body, where)

    async def _send(
        self,
        method: str,
        url: str,
        body: bytes,
        *,
        depth: int,
        what: str,
        allow: tuple[int, ...] = (),
    ) -> HttpResponse:
        response = await self._http.request(
            method,
            url,
            headers={
                "Authorization": self._authorization,
                "Depth": str(depth),
                "Content-Type": _XML,
                "Accept": "application/xml, text/xml",
            },
            body=body,
            timeout=self._timeout,
            idempotent=True,
            allow_status=(404, *allow),
        )
        if response.status == 404:
            raise ConfigError(
                f"{method} {redact_url(url)}: {what} was not found (HTTP 404); check the URL "
                "and the calendars setting"
            )
        return response
