"""Authentication for template adapters: static credentials, and OAuth2 tokens kept fresh.

`credentials_for` returns what to add to a request (headers and query parameters, secrets as
`Secret` so the HTTP client reveals them only on the wire). `OAuth2Tokens` holds one access
token: it gets a new one ahead of expiry (`refresh_before`, at most half the token's life),
one refresh at a time under a lock, and when the API refuses a token it has already
replaced, the caller just retries with the new one instead of refreshing again. A rotated
refresh token is handed to `AdapterContext.save_credentials` before the new access token is
used, so the vault never holds a refresh token the peer has already retired.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

import anyio

from adapters._contract import AdapterContext
from adapters._errors import AuthError, PermanentError
from adapters._http import HeaderValue, ParamValue
from adapters.templates._model import (
    ApiKeyAuth,
    Auth,
    BasicAuth,
    BearerAuth,
    ClientCredentialsAuth,
    NoAuth,
    RefreshTokenAuth,
    Scalar,
)
from adapters.templates._paging import interpolate
from runtime.vault import Secret

log = logging.getLogger("adapters.templates")

_OAUTH_ERROR = re.compile(r"[a-z_]{1,40}")
_REFUSED = frozenset({400, 401, 403})


@dataclass(frozen=True, slots=True)
class Credentials:
    """What one request carries; `generation` names the OAuth2 token used (0: none)."""

    headers: Mapping[str, HeaderValue] = field(default_factory=dict)
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    generation: int = 0


def required(context: AdapterContext, name: str, adapter: str) -> Secret[str]:
    """The credential `name`; a missing or empty one is an AuthError that says what to do."""
    secret = context.credentials.get(name)
    if secret is None or not secret.reveal().strip():
        raise AuthError(
            f"{adapter} integration {context.integration_id!r}: the credential {name!r} is "
            f"missing or empty; enter it and reconnect"
        )
    return secret


def static_credentials(auth: Auth, context: AdapterContext, adapter: str) -> Credentials:
    """Headers or parameters of the auth kinds that need no token exchange."""
    match auth:
        case ApiKeyAuth():
            key = required(context, auth.credential, adapter)
            value = Secret(auth.prefix + key.reveal())
            if auth.location == "query":
                return Credentials(params={auth.name: value})
            return Credentials(headers={auth.name: value})
        case BearerAuth():
            token = required(context, auth.credential, adapter).reveal()
            return Credentials(headers={"Authorization": Secret(f"Bearer {token}")})
        case BasicAuth():
            user = required(context, auth.username, adapter).reveal()
            password = required(context, auth.password, adapter).reveal()
            pair = base64.b64encode(f"{user}:{password}".encode()).decode()
            return Credentials(headers={"Authorization": Secret(f"Basic {pair}")})
        case _:
            return Credentials()


def query_names(auth: Auth) -> frozenset[str]:
    """Query parameters that carry a credential (never kept in a checkpoint)."""
    if isinstance(auth, ApiKeyAuth) and auth.location == "query":
        return frozenset({auth.name})
    return frozenset()


class OAuth2Tokens:
    """An access token from the client-credentials or refresh-token grant, kept fresh."""

    def __init__(
        self,
        auth: ClientCredentialsAuth | RefreshTokenAuth,
        context: AdapterContext,
        values: Mapping[str, Scalar],
        adapter: str,
    ) -> None:
        self._auth = auth
        self._context = context
        self._url = interpolate(auth.token_url, values)
        self._adapter = adapter
        self._lock = anyio.Lock()
        self._access: Secret[str] | None = None
        self._renew_at = 0.0
        self.generation = 0
        self.refreshes = 0
        self._refresh: Secret[str] | None = None
        if isinstance(auth, RefreshTokenAuth):
            self._refresh = required(context, auth.refresh_token, adapter)

    async def credentials(self) -> Credentials:
        """The current token, renewed first if it is due (one renewal at a time)."""
        if not self._fresh():
            async with self._lock:
                if not self._fresh():  # another request may have renewed it while we waited
                    await self._renew()
        assert self._access is not None
        header = Secret(f"Bearer {self._access.reveal()}")
        return Credentials(headers={"Authorization": header}, generation=self.generation)

    async def refused(self, generation: int) -> None:
        """The API refused the token of `generation`: renew it, unless that was done already."""
        async with self._lock:
            if generation == self.generation:
                self._access = None
                await self._renew()

    def _fresh(self) -> bool:
        return self._access is not None and self._context.clock.now() < self._renew_at

    async def _renew(self) -> None:
        auth, context = self._auth, self._context
        asked_at = context.clock.now()
        form: dict[str, str] = dict(auth.params)
        headers: dict[str, HeaderValue] = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        if isinstance(auth, RefreshTokenAuth):
            assert self._refresh is not None
            form |= {"grant_type": "refresh_token", "refresh_token": self._refresh.reveal()}
        else:
            form["grant_type"] = "client_credentials"
        if auth.scopes:
            form["scope"] = " ".join(auth.scopes)
        client_id = self._credential(auth.client_id)
        secret = self._credential(auth.client_secret)
        if auth.client_auth == "basic" and client_id is not None:
            pair = f"{client_id.reveal()}:{'' if secret is None else secret.reveal()}"
            headers["Authorization"] = Secret(f"Basic {base64.b64encode(pair.encode()).decode()}")
        else:
            if client_id is not None:
                form["client_id"] = client_id.reveal()
            if secret is not None:
                form["client_secret"] = secret.reveal()
        response = await context.http.post(
            self._url,
            body=urlencode(form).encode(),
            headers=headers,
            allow_status=_REFUSED,
            idempotent=isinstance(auth, ClientCredentialsAuth),  # a used refresh token may be gone
        )
        if response.status in _REFUSED:
            raise AuthError(self._refusal(response.json() if response.body else None))
        await self._take(response.json(), asked_at)

    def _credential(self, name: str | None) -> Secret[str] | None:
        return None if name is None else required(self._context, name, self._adapter)

    def _refusal(self, body: object) -> str:
        code = body.get("error") if isinstance(body, Mapping) else None
        reason = f" ({code})" if isinstance(code, str) and _OAUTH_ERROR.fullmatch(code) else ""
        grant = "refresh token" if isinstance(self._auth, RefreshTokenAuth) else "client"
        return (
            f"{self._adapter} integration {self._context.integration_id!r}: the authorization "
            f"server refused the {grant}{reason}; reconnect the integration"
        )

    async def _take(self, body: object, asked_at: float) -> None:
        if not isinstance(body, Mapping):
            raise PermanentError(f"{self._adapter}: the authorization server sent no JSON object")
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise PermanentError(f"{self._adapter}: the authorization server sent no access_token")
        lifetime = body.get("expires_in")
        rotated = body.get("refresh_token")
        if isinstance(self._auth, RefreshTokenAuth) and isinstance(rotated, str) and rotated:
            await self._store_refresh_token(Secret(rotated))
        self._access = Secret(access)
        self.generation += 1
        self.refreshes += 1
        if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) and lifetime > 0:
            margin = min(self._auth.refresh_before, lifetime / 2)
            self._renew_at = asked_at + lifetime - margin
        else:
            self._renew_at = float("inf")  # no expiry said: renewed when refused
        log.info(
            "integration %s: new access token from the token endpoint (expires in %s s)",
            self._context.integration_id,
            lifetime if isinstance(lifetime, int | float) else "?",
        )

    async def _store_refresh_token(self, rotated: Secret[str]) -> None:
        assert isinstance(self._auth, RefreshTokenAuth)
        if self._refresh is not None and rotated == self._refresh:
            return
        self._refresh = rotated
        save = self._context.save_credentials
        if save is None:
            log.warning(
                "integration %s: the refresh token was rotated but there is nowhere to store "
                "it; it lasts until the adapter stops",
                self._context.integration_id,
            )
            return
        await save({self._auth.refresh_token: rotated})
        log.info("integration %s: rotated refresh token stored", self._context.integration_id)


def is_static(auth: Auth) -> bool:
    return isinstance(auth, NoAuth | ApiKeyAuth | BearerAuth | BasicAuth)
