"""What pydantic cannot see field by field: how a template's parts refer to each other.

`cross_check` returns every broken reference as (path into the file, message), so the loader
can name the line. `resolve` merges `defaults` into each stream, giving the plain `Stream`
values the adapter runs on.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import urlsplit

from adapters.templates._model import (
    CURSOR,
    VARIABLE,
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    ClientCredentialsAuth,
    CursorPages,
    Incremental,
    NoAuth,
    NoPages,
    Paginator,
    RefreshTokenAuth,
    RestTemplate,
    Scalar,
    StreamFields,
)

Path = tuple[str | int, ...]
Problem = tuple[Path, str]


@dataclass(frozen=True, slots=True)
class Stream:
    """One entity's stream with the defaults merged in."""

    name: str
    path: str
    headers: Mapping[str, str]
    params: Mapping[str, Scalar]
    records: str
    primary_key: tuple[str, ...]
    paginator: Paginator
    incremental: Incremental | None
    fields: Mapping[str, str] | None


def resolve(template: RestTemplate) -> dict[str, Stream]:
    """Every stream with `defaults` merged in (a stream's own value wins; headers and params
    merge key by key, header names case-insensitively)."""
    return {name: _merge(name, template.defaults, own) for name, own in template.streams.items()}


def _merge(name: str, base: StreamFields, own: StreamFields) -> Stream:
    headers = {key.lower(): (key, value) for key, value in base.headers.items()}
    headers.update({key.lower(): (key, value) for key, value in own.headers.items()})
    key = own.primary_key or base.primary_key or "id"
    fields = own.fields if own.fields is not None else base.fields
    return Stream(
        name=name,
        path=own.path or base.path or "",
        headers=MappingProxyType(dict(headers.values())),
        params=MappingProxyType({**base.params, **own.params}),
        records=(own.records if own.records is not None else base.records) or "",
        primary_key=(key,) if isinstance(key, str) else key,
        paginator=own.paginator or base.paginator or NoPages(type="none"),
        incremental=own.incremental or base.incremental,
        fields=None if fields is None else MappingProxyType(dict(fields)),
    )


def credential_fields(template: RestTemplate) -> tuple[str, ...]:
    """The credentials the template's auth reads, in the order the wizard should ask."""
    auth = template.auth
    match auth:
        case NoAuth():
            names: tuple[str | None, ...] = ()
        case ApiKeyAuth() | BearerAuth():
            names = (auth.credential,)
        case BasicAuth():
            names = (auth.username, auth.password)
        case ClientCredentialsAuth():
            names = (auth.client_id, auth.client_secret)
        case RefreshTokenAuth():
            names = (auth.refresh_token, auth.client_id, auth.client_secret)
    return tuple(dict.fromkeys(name for name in names if name is not None))


def cross_check(template: RestTemplate) -> list[Problem]:
    return [
        *_variables(template),
        *_sizes(template),
        *_streams(template),
        *_errors(template),
        *_settings(template),
        *_auth(template),
    ]


def _texts(template: RestTemplate) -> Iterator[tuple[Path, str, bool]]:
    """Every text that may hold `{setting}` references: (path, text, may it use {cursor})."""
    yield ("base_url",), template.base_url, False
    if isinstance(template.auth, ClientCredentialsAuth | RefreshTokenAuth):
        yield ("auth", "token_url"), template.auth.token_url, False
        for key, value in template.auth.params.items():
            yield ("auth", "params", key), value, False
    for where, stream in [(("defaults",), template.defaults), *_named(template)]:
        yield from _stream_texts(where, stream)
    if template.check is not None:
        if template.check.path is not None:
            yield ("check", "path"), template.check.path, False
        for key, scalar in template.check.params.items():
            yield ("check", "params", key), str(scalar), False


def _stream_texts(where: Path, stream: StreamFields) -> Iterator[tuple[Path, str, bool]]:
    if stream.path is not None:
        yield (*where, "path"), stream.path, False
    for key, value in stream.headers.items():
        yield (*where, "headers", key), value, False
    for key, scalar in stream.params.items():
        yield (*where, "params", key), str(scalar), False
    if stream.incremental is not None:
        for key, scalar in stream.incremental.params.items():
            yield (*where, "incremental", "params", key), str(scalar), True


def _variables(template: RestTemplate) -> Iterator[Problem]:
    for path, text, cursor_allowed in _texts(template):
        for name in VARIABLE.findall(text):
            if name == CURSOR and cursor_allowed:
                continue
            if name not in template.settings:
                yield path, f"{{{name}}} is not one of the template's settings"
    for where, stream in [(("defaults",), template.defaults), *_named(template)]:
        incremental = stream.incremental
        if incremental is not None and not any(
            f"{{{CURSOR}}}" in str(value) for value in incremental.params.values()
        ):
            yield (*where, "incremental", "params"), "no parameter carries {cursor}"


def _named(template: RestTemplate) -> list[tuple[Path, StreamFields]]:
    return [(("streams", name), stream) for name, stream in template.streams.items()]


def _sizes(template: RestTemplate) -> Iterator[Problem]:
    """`{setting}` used as a whole number must name a setting of a fitting type."""
    wanted: list[tuple[Path, object, tuple[str, ...]]] = [
        (("timeout",), template.timeout, ("integer", "number"))
    ]
    for where, stream in [(("defaults",), template.defaults), *_named(template)]:
        paginator = stream.paginator
        if paginator is not None and not isinstance(paginator, NoPages):
            wanted.append(((*where, "paginator", "page_size"), paginator.page_size, ("integer",)))
    for path, value, types in wanted:
        if isinstance(value, str):
            setting = template.settings.get(value.strip("{}"))
            if setting is None:
                yield path, f"{value} is not one of the template's settings"
            elif setting.type not in types:
                yield path, f"{value} must be a setting of type {' or '.join(types)}"


def _streams(template: RestTemplate) -> Iterator[Problem]:
    streams = resolve(template)
    for name, stream in streams.items():
        if not stream.path:
            yield ("streams", name), "no path (give one here or under defaults)"
        paginator = stream.paginator
        if isinstance(paginator, CursorPages) and (
            (paginator.cursor_path is None) == (paginator.cursor_header is None)
        ):
            yield (
                ("streams", name, "paginator"),
                "a cursor paginator needs exactly one of cursor_path and cursor_header",
            )
    check = template.check
    if check is not None:
        if (check.stream is None) == (check.path is None):
            yield ("check",), "give exactly one of stream and path"
        elif check.stream is not None and check.stream not in streams:
            yield ("check", "stream"), f"there is no stream {check.stream!r}"
    if not urlsplit(template.base_url).scheme and not VARIABLE.search(template.base_url):
        yield ("base_url",), "must be an absolute http:// or https:// URL or use a setting"


def _errors(template: RestTemplate) -> Iterator[Problem]:
    errors = template.errors
    seen: dict[int, str] = {}
    lists = {
        "retry": errors.retry or (),
        "fail": errors.fail,
        "ignore": errors.ignore,
        "rate_limited": errors.rate_limited,
    }
    for name, statuses in lists.items():
        for status in statuses:
            if status in seen:
                yield ("errors", name), f"status {status} is already under {seen[status]}"
            seen[status] = name


def _settings(template: RestTemplate) -> Iterator[Problem]:
    kinds: dict[str, tuple[type, ...]] = {
        "string": (str,),
        "integer": (int,),
        "number": (int, float),
        "boolean": (bool,),
    }
    for name, setting in template.settings.items():
        allowed = kinds[setting.type]
        values = [setting.default, *(setting.enum or ()), *setting.examples]
        for value in values:
            wrong_bool = isinstance(value, bool) and setting.type != "boolean"
            if value is not None and (not isinstance(value, allowed) or wrong_bool):
                yield ("settings", name), f"{value!r} is not of type {setting.type}"
        if setting.enum and setting.default is not None and setting.default not in setting.enum:
            yield ("settings", name, "default"), "the default is not one of enum"
        low, high = setting.minimum, setting.maximum
        if low is not None and high is not None and low > high:
            yield ("settings", name, "minimum"), "minimum is above maximum"


def _auth(template: RestTemplate) -> Iterator[Problem]:
    auth = template.auth
    if isinstance(auth, BasicAuth) and auth.username == auth.password:
        yield ("auth",), "username and password must be different credentials"
    if isinstance(auth, ClientCredentialsAuth) and None in (auth.client_id, auth.client_secret):
        yield ("auth",), "client credentials need both client_id and client_secret"
