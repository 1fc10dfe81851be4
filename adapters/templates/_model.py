"""What a REST template file may say, as pydantic models (field by field; `_checks` relates them).

A template names its settings (the wizard's form), the base URL, one way to authenticate, the
streams (one per entity: path, record selector, primary key, paginator, incremental cursor,
field mapping), what error statuses mean, a rate limit, and the request Test Connection sends.
`defaults` holds stream fields shared by every stream; a stream's own fields win. Strings may
refer to settings as `{name}`; credentials are named by the auth block only, never interpolated.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    field_validator,
)

VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
CURSOR = "cursor"  # the variable an incremental stream's parameters put the lower bound into

AdapterName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
StreamName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
SettingName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
CredentialName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
DottedPath = Annotated[str, StringConstraints(max_length=500)]
Status = Annotated[int, Field(ge=400, le=599)]
Scalar = str | int | float | bool
_WHOLE_VARIABLE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


def _number_or_variable(low: float, high: float, *, whole: bool) -> PlainValidator:
    """A number within [low, high], or a whole value taken from a setting (`"{page_size}"`):
    one check with one message, instead of a union's two."""
    kind = "a whole number" if whole else "a number"

    def check(value: object) -> int | float | str:
        if isinstance(value, str) and _WHOLE_VARIABLE.fullmatch(value):
            return value
        problem = ValueError(f"must be {kind} from {low:g} to {high:g}, or a {{setting}}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise problem
        if (whole and not float(value).is_integer()) or not low <= value <= high:
            raise problem
        return int(value) if whole else float(value)

    return PlainValidator(check)


PageSize = Annotated[int | str, _number_or_variable(1, 100_000, whole=True)]
Seconds = Annotated[float | str, _number_or_variable(0.001, 3600, whole=False)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


# -- settings ---------------------------------------------------------------------------------


class SettingField(_Model):
    """One setting of the integration, as JSON Schema keywords (the wizard renders them)."""

    type: Literal["string", "integer", "number", "boolean"] = "string"
    title: Text | None = None
    description: str = Field(default="", max_length=2000)
    default: Scalar | None = None
    enum: tuple[Scalar, ...] | None = Field(default=None, min_length=1)
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    format: Literal["uri", "email", "hostname", "date-time"] | None = None
    examples: tuple[Scalar, ...] = ()

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"not a regular expression: {error}") from None
        return value


# -- authentication ---------------------------------------------------------------------------


class NoAuth(_Model):
    type: Literal["none"]


class ApiKeyAuth(_Model):
    """The credential `credential` sent as header `name` (after `prefix`) or query parameter."""

    type: Literal["api_key"]
    credential: CredentialName = "api_key"
    location: Literal["header", "query"] = Field(default="header", alias="in")
    name: Text = "X-API-Key"
    prefix: str = ""


class BearerAuth(_Model):
    type: Literal["bearer"]
    credential: CredentialName = "token"


class BasicAuth(_Model):
    type: Literal["basic"]
    username: CredentialName = "username"
    password: CredentialName = "password"


class _OAuth2(_Model):
    token_url: Text
    client_id: CredentialName | None = "client_id"
    client_secret: CredentialName | None = "client_secret"
    client_auth: Literal["body", "basic"] = Field(
        default="body", description="Client credentials in the form body or as HTTP Basic."
    )
    scopes: tuple[Text, ...] = ()
    params: dict[Text, Text] = Field(default_factory=dict, description="Extra token parameters.")
    refresh_before: float = Field(
        default=60.0, ge=0, le=86_400, description="Seconds before expiry to get a new token."
    )


class ClientCredentialsAuth(_OAuth2):
    type: Literal["oauth2_client_credentials"]


class RefreshTokenAuth(_OAuth2):
    """A refresh token exchanged for access tokens; a rotated one is stored back."""

    type: Literal["oauth2_refresh_token"]
    refresh_token: CredentialName = "refresh_token"
    client_secret: CredentialName | None = None


Auth = Annotated[
    NoAuth | ApiKeyAuth | BearerAuth | BasicAuth | ClientCredentialsAuth | RefreshTokenAuth,
    Field(discriminator="type"),
]


# -- pagination ---------------------------------------------------------------------------------


class _Sized(_Model):
    size_param: Text | None = Field(default=None, description="Query parameter for page size.")
    page_size: PageSize = 100


class _Counted(_Sized):
    total_path: DottedPath | None = Field(default=None, description="Where the body says total.")
    short_page_ends: bool = Field(default=True, description="A page not full is the last.")


class NoPages(_Model):
    type: Literal["none"]


class PageNumberPages(_Counted):
    type: Literal["page_number"]
    page_param: Text = "page"
    start: int = Field(default=1, ge=0, le=1)


class OffsetPages(_Counted):
    type: Literal["offset"]
    offset_param: Text = "offset"


class CursorPages(_Sized):
    """The next page's cursor is read from the body (`cursor_path`) or a header."""

    type: Literal["cursor"]
    cursor_param: Text = "cursor"
    cursor_path: DottedPath | None = None
    cursor_header: Text | None = None


class LinkPages(_Sized):
    """RFC 8288: the next page is the `Link` header's `rel="next"` URL."""

    type: Literal["link"]


Paginator = Annotated[
    NoPages | PageNumberPages | OffsetPages | CursorPages | LinkPages,
    Field(discriminator="type"),
]


class Incremental(_Model):
    """Records changed since the last pass: the highest `cursor_field` seen, minus `lookback`,
    goes into `params` as `{cursor}`. A full sync sends no such parameter."""

    cursor_field: DottedPath
    type: Literal["datetime", "number"] = "datetime"
    lookback: float = Field(default=0.0, ge=0, description="Seconds (or units) read again.")
    format: Text | None = Field(default=None, description="strftime format; default ISO 8601.")
    params: dict[Text, Scalar] = Field(min_length=1)


# -- streams ------------------------------------------------------------------------------------


class StreamFields(_Model):
    """A stream, or (under `defaults`) what every stream has unless it says otherwise."""

    title: Text | None = None
    path: Text | None = None
    headers: dict[Text, Text] = Field(default_factory=dict)
    params: dict[Text, Scalar] = Field(default_factory=dict)
    records: DottedPath | None = Field(default=None, description="Dotted path to the list.")
    primary_key: DottedPath | tuple[DottedPath, ...] | None = None
    paginator: Paginator | None = None
    incremental: Incremental | None = None
    fields: dict[StreamName, DottedPath] | None = Field(
        default=None, description="Default field mapping: stored field -> source path."
    )


# -- errors, limits, check ----------------------------------------------------------------------


class Backoff(_Model):
    attempts: int = Field(default=5, ge=1, le=20)
    initial: float = Field(default=0.5, ge=0, le=600)
    max: float = Field(default=30.0, ge=0, le=3600)
    total: float = Field(default=120.0, ge=0, le=3600)


class Errors(_Model):
    """What statuses mean. 401/403 refuse the credentials and 429 is rate limited unless
    listed under `fail` or `ignore`; `retry` replaces the integration's retry statuses."""

    retry: tuple[Status, ...] | None = None
    rate_limited: tuple[Status, ...] = (429,)
    fail: tuple[Status, ...] = ()
    ignore: tuple[Status, ...] = Field(default=(), description="The stream has no records.")
    backoff: Backoff | None = None


class RateLimitSpec(_Model):
    rate: float = Field(gt=0, le=1_000_000)
    period: float = Field(default=1.0, gt=0, le=86_400)
    burst: int = Field(default=1, ge=1, le=100_000)


class Check(_Model):
    """Test Connection: the first page of `stream`, or one GET of `path` with `params`."""

    stream: StreamName | None = None
    path: Text | None = None
    params: dict[Text, Scalar] = Field(default_factory=dict)


class RestTemplate(_Model):
    """A whole template file (`kind: rest`, the default; other kinds: `_kinds`)."""

    kind: Literal["rest"] = "rest"
    name: AdapterName
    title: Text
    description: Text
    icon: Text = "🔌"
    settings: dict[SettingName, SettingField] = Field(default_factory=dict)
    base_url: Text
    auth: Auth = NoAuth(type="none")
    timeout: Seconds = 30.0
    rate_limit: RateLimitSpec | None = None
    errors: Errors = Errors()
    defaults: StreamFields = StreamFields()
    streams: dict[StreamName, StreamFields] = Field(min_length=1)
    check: Check | None = None
