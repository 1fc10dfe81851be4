"""What a SOAP template file may say, as pydantic models (field by field; `_checks` relates them).

A SOAP template names its settings (the wizard's form, the same declaration as a REST
template's), where the WSDL is (a URL, or a file beside the template), which service and port
of it to use and, if it must differ from the WSDL's, the endpoint address; how to authenticate
(HTTP Basic or a WS-Security UsernameToken); the entities, each an operation with its
arguments, where the list of items is in the result, the primary key, paging and an
incremental cursor; what vendor faults mean; and what Test Connection calls.

Much of it may come from settings: texts take `{setting}`s, and the fields that choose a kind
(`auth.type`, `paging.type`, `paging.start`) may be a whole `"{setting}"` whose choices are
checked when the template is loaded. Credentials are named by `auth` only and never
substituted into anything.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, PlainValidator, StringConstraints

from adapters.templates._model import (
    AdapterName,
    Backoff,
    CredentialName,
    DottedPath,
    PageSize,
    RateLimitSpec,
    Scalar,
    Seconds,
    SettingField,
    SettingName,
    StreamName,
    Text,
)

SETTING_REF = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
AUTH_TYPES = ("none", "basic", "ws_security", "ws_security_digest")
PAGING_TYPES = ("none", "page_number", "offset", "token")

ArgName = Annotated[
    str,
    StringConstraints(
        pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_][A-Za-z0-9_\-]*)*$", max_length=500
    ),
]
"""An operation's argument: a dotted path goes into nested parts (`request.page`)."""


def _choice_or_setting(choices: tuple[object, ...]) -> PlainValidator:
    """One of `choices`, or a whole `"{setting}"` (its choices are checked in `_checks`);
    one check with one message, instead of a union's two."""
    shown = ", ".join(map(str, choices))

    def check(value: object) -> object:
        if isinstance(value, str) and SETTING_REF.fullmatch(value):
            return value
        if isinstance(value, bool) or value not in choices:
            raise ValueError(f"must be one of {shown}, or a {{setting}}")
        return value

    return PlainValidator(check)


AuthType = Annotated[str, _choice_or_setting(AUTH_TYPES)]
PagingType = Annotated[str, _choice_or_setting(PAGING_TYPES)]
FirstPage = Annotated[int | str, _choice_or_setting((0, 1))]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class SoapAuth(_Model):
    """`basic`: HTTP Basic on every request (the WSDL's too, on its own host);
    `ws_security`: a WS-Security UsernameToken in the SOAP header (`ws_security_digest`: its
    password as a digest with nonce and creation time); `none`."""

    type: AuthType = "none"
    username: CredentialName = "username"
    password: CredentialName = "password"


class Paging(_Model):
    """How an operation pages. `arg` carries the page number, the offset or the token;
    `size_arg` the page size. Page numbers and offsets end on an empty or short page or at the
    total (`total_path`); a token pass ends when the result has no next token
    (`token_path`). With `next_operation`, pages after the first call that operation with the
    token alone (Salesforce's `query` / `queryMore`)."""

    type: PagingType = "none"
    arg: Text | None = None
    size_arg: Text | None = None
    page_size: PageSize = 100
    start: FirstPage = 1
    total_path: DottedPath | None = None
    short_page_ends: bool = True
    token_path: DottedPath | None = None
    next_operation: Text | None = None


class SoapIncremental(_Model):
    """Only what changed since the last pass: the highest `cursor_field` seen, minus
    `lookback`, goes into `arguments` as `{cursor}`. A full sync sends no such argument."""

    cursor_field: DottedPath
    type: Literal["datetime", "number"] = "datetime"
    lookback: float = Field(default=0.0, ge=0)
    format: Text | None = Field(default=None, description="strftime format; default ISO 8601.")
    arguments: dict[ArgName, Scalar] = Field(min_length=1)


class Entity(_Model):
    """One entity: the operation that lists it and how to read its result."""

    title: Text | None = None
    operation: Text
    arguments: dict[ArgName, JsonValue] = Field(default_factory=dict)
    arguments_json: Text | None = Field(
        default=None, description='A JSON object from a setting ("{arguments}"), merged in.'
    )
    records: DottedPath = Field(default="", description="Where the list is; empty: the result.")
    primary_key: DottedPath | tuple[DottedPath, ...] = "id"
    paging: Paging = Paging()
    incremental: SoapIncremental | None = None
    fields: dict[StreamName, DottedPath] | None = Field(
        default=None, description="Default field mapping: stored field -> result path."
    )


class Faults(_Model):
    """Words that, found in a fault's code, subcodes, detail codes or text (ignoring case),
    decide what it means before the built-in rules do."""

    auth: tuple[Text, ...] = ()
    rate_limited: tuple[Text, ...] = ()
    transient: tuple[Text, ...] = ()
    permanent: tuple[Text, ...] = ()


class Check(_Model):
    """Test Connection: an operation (`Ping`, `getServerTimestamp`) with arguments, or the
    first page of an entity; neither: the first page of the first entity."""

    entity: StreamName | None = None
    operation: Text | None = None
    arguments: dict[ArgName, JsonValue] = Field(default_factory=dict)


class SoapTemplate(_Model):
    """A whole SOAP template file."""

    kind: Literal["soap"]
    name: AdapterName
    title: Text
    description: Text
    icon: Text = "🧼"
    settings: dict[SettingName, SettingField] = Field(default_factory=dict)
    wsdl: Text = Field(description="An http(s) URL, or a file beside the template.")
    service: Text | None = None
    port: Text | None = None
    endpoint: Text | None = Field(default=None, description="Overrides the WSDL's address.")
    strict: bool = Field(default=True, description="false: accept replies off the schema.")
    auth: SoapAuth = SoapAuth()
    timeout: Seconds = 30.0
    rate_limit: RateLimitSpec | None = None
    backoff: Backoff | None = None
    faults: Faults = Faults()
    entities: dict[StreamName, Entity] = Field(min_length=1)
    check: Check | None = None
