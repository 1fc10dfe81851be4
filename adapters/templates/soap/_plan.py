"""A SOAP template applied to one integration's settings, and the call each page makes.

`apply_settings` turns the template and the settings into a `Setup`: where the WSDL is, which
service, port and endpoint, the auth kind, and per entity an `EntityPlan` whose paging,
records, primary key and incremental cursor are the REST engine's own `Stream` (so pages,
checkpoints and high-water marks follow the same rules, `_paging.read_page`). `call_for` says
which operation a page calls with which arguments. Pure: no zeep, no sockets.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import cast
from urllib.parse import urlsplit

import pydantic

from adapters._errors import ConfigError
from adapters._redact import redact_url
from adapters._values import JsonValue
from adapters.templates._checks import Stream
from adapters.templates._model import (
    CURSOR,
    CursorPages,
    Incremental,
    NoPages,
    OffsetPages,
    PageNumberPages,
    Scalar,
)
from adapters.templates._paging import PageState, interpolate, whole_number
from adapters.templates._settings import check_settings
from adapters.templates.soap._checks import paging_problems, wsdl_file_problem
from adapters.templates.soap._compiled import CompiledSoapTemplate
from adapters.templates.soap._model import AUTH_TYPES, PAGING_TYPES, SETTING_REF, Entity, Paging
from config import describe_validation_error

Arguments = dict[str, object]
Fail = Callable[[str, str], ConfigError]
Paginator = NoPages | PageNumberPages | OffsetPages | CursorPages
_ARG = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_][A-Za-z0-9_\-]*)*")
_DEFAULT_ARG = {"page_number": "page", "offset": "offset"}


@dataclass(frozen=True, slots=True)
class WsdlSource:
    """Where the WSDL is: an http(s) URL, or a file beside the template."""

    url: str | None = None
    path: Path | None = None

    def shown(self) -> str:
        if self.url is not None:
            return redact_url(self.url)
        return self.path.name if self.path is not None else "(no WSDL)"


@dataclass(frozen=True, slots=True)
class Call:
    """One operation call: its name and its (nested) arguments."""

    operation: str
    arguments: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class EntityPlan:
    """One entity with the settings applied. `stream` holds the reading rules in the REST
    engine's terms; `arg`/`size_arg` are the argument paths paging fills in."""

    name: str
    operation: str
    arguments: Mapping[str, object]
    stream: Stream
    page_size: int
    arg: tuple[str, ...] | None
    size_arg: tuple[str, ...] | None
    next_operation: str | None
    incremental_arguments: Mapping[str, Scalar]


@dataclass(frozen=True, slots=True)
class Setup:
    """The template applied to one integration's settings. `check` is an operation call, or
    None for the first page of `check_entity`."""

    values: Mapping[str, Scalar]
    wsdl: WsdlSource
    service: str | None
    port: str | None
    endpoint: str | None
    auth: str
    timeout: float
    entities: Mapping[str, EntityPlan]
    check: Call | None
    check_entity: str


def apply_settings(
    compiled: CompiledSoapTemplate, settings: Mapping[str, JsonValue], integration: str
) -> Setup:
    """The template for this integration; a ConfigError names each field settings broke."""
    template = compiled.template
    where = f"{template.name} settings of {integration!r}"
    values = check_settings(
        compiled.settings_model, settings, adapter=template.name, integration=integration
    )

    def fail(field: str, problem: str) -> ConfigError:
        return ConfigError(f"{where}: {field}: {problem}")

    auth = interpolate(template.auth.type, values)
    if auth not in AUTH_TYPES:
        raise fail("auth.type", f"must be one of {', '.join(AUTH_TYPES)}")
    entities = {
        name: _entity(name, entity, values, fail) for name, entity in template.entities.items()
    }
    check = template.check
    call = None
    if check is not None and check.operation is not None:
        operation = _text(check.operation, values) or ""
        if not operation:
            raise fail("check.operation", "is empty")
        call = Call(operation, _arguments(dict(check.arguments), values, "check", fail))
    first = next(iter(template.entities))
    return Setup(
        values=MappingProxyType(values),
        wsdl=_wsdl(compiled, values, fail),
        service=_text(template.service, values),
        port=_text(template.port, values),
        endpoint=_endpoint(template.endpoint, values, fail),
        auth=auth,
        timeout=whole_number(template.timeout, values),
        entities=MappingProxyType(entities),
        check=call,
        check_entity=(check.entity if check is not None and check.entity else first),
    )


def _text(value: str | None, values: Mapping[str, Scalar]) -> str | None:
    """A text with its settings filled in; empty is None (a setting left blank)."""
    if value is None:
        return None
    return interpolate(value, values).strip() or None


def _wsdl(compiled: CompiledSoapTemplate, values: Mapping[str, Scalar], fail: Fail) -> WsdlSource:
    wsdl = _text(compiled.template.wsdl, values) or ""
    problem = "is empty" if not wsdl else wsdl_file_problem(wsdl)
    if problem is not None:
        raise fail("wsdl", problem)
    if urlsplit(wsdl).scheme.lower() in ("http", "https"):
        if urlsplit(wsdl).username is not None:
            raise fail("wsdl", "must not carry a user name or password (those are credentials)")
        return WsdlSource(url=wsdl)
    if compiled.home is None:
        raise fail("wsdl", "a WSDL file is read beside the template, and this one has no place")
    return WsdlSource(path=compiled.home / wsdl)


def _endpoint(value: str | None, values: Mapping[str, Scalar], fail: Fail) -> str | None:
    endpoint = _text(value, values)
    if endpoint is None:
        return None
    parts = urlsplit(endpoint)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise fail("endpoint", "must be an http:// or https:// URL")
    if parts.username is not None:
        raise fail("endpoint", "must not carry a user name or password (those are credentials)")
    return endpoint


def _entity(name: str, entity: Entity, values: Mapping[str, Scalar], fail: Fail) -> EntityPlan:
    where = f"entities.{name}"
    operation = _text(entity.operation, values)
    if operation is None:
        raise fail(f"{where}.operation", "is empty")
    arguments = _arguments(dict(entity.arguments), values, where, fail)
    if entity.arguments_json is not None:
        _merge(arguments, _json_object(entity.arguments_json, values, where, fail))
    keys = (entity.primary_key,) if isinstance(entity.primary_key, str) else entity.primary_key
    primary_key = tuple(_text(key, values) or "" for key in keys)
    if not all(primary_key):
        raise fail(f"{where}.primary_key", "is empty")
    paginator, arg, size_arg = _paginator(entity.paging, values, f"{where}.paging", fail)
    incremental = entity.incremental
    stream = Stream(
        name=name,
        path="",
        headers=MappingProxyType({}),
        params=MappingProxyType({}),
        records=_text(entity.records, values) or "",
        primary_key=primary_key,
        paginator=paginator,
        incremental=None
        if incremental is None
        else Incremental(
            cursor_field=incremental.cursor_field,
            type=incremental.type,
            lookback=incremental.lookback,
            format=incremental.format,
            params=dict(incremental.arguments),
        ),
        fields=None if entity.fields is None else MappingProxyType(dict(entity.fields)),
    )
    next_operation = _text(entity.paging.next_operation, values)
    return EntityPlan(
        name=name,
        operation=operation,
        arguments=MappingProxyType(arguments),
        stream=stream,
        page_size=1 if isinstance(paginator, NoPages) else int(paginator.page_size),
        arg=arg,
        size_arg=size_arg,
        next_operation=next_operation if isinstance(paginator, CursorPages) else None,
        incremental_arguments=MappingProxyType(
            {} if incremental is None else dict(incremental.arguments)
        ),
    )


def _paginator(
    paging: Paging, values: Mapping[str, Scalar], where: str, fail: Fail
) -> tuple[Paginator, tuple[str, ...] | None, tuple[str, ...] | None]:
    kind = interpolate(paging.type, values)
    if kind not in PAGING_TYPES:
        raise fail(f"{where}.type", f"must be one of {', '.join(PAGING_TYPES)}")
    arg = _text(paging.arg, values) or _DEFAULT_ARG.get(kind)
    concrete = paging.model_copy(
        update={
            "type": kind,
            "arg": arg,
            "size_arg": _text(paging.size_arg, values),
            "total_path": _text(paging.total_path, values),
            "token_path": _text(paging.token_path, values),
            "next_operation": _text(paging.next_operation, values),
        }
    )
    for path, problem in paging_problems((), concrete):
        raise fail(".".join([where, *map(str, path)]), problem)
    if kind == "none":
        return NoPages(type="none"), None, None
    size = int(whole_number(paging.page_size, values))
    if size < 1:
        raise fail(f"{where}.page_size", "must be at least 1")
    common: dict[str, object] = {"size_param": concrete.size_arg, "page_size": size}
    if kind != "token":
        common |= {"total_path": concrete.total_path, "short_page_ends": paging.short_page_ends}
    start = paging.start if isinstance(paging.start, int) else values[paging.start[1:-1]]
    if kind == "page_number" and start not in (0, 1):
        raise fail(f"{where}.start", "must be 0 or 1")
    own: dict[str, dict[str, object]] = {
        "token": {"type": "cursor", "cursor_param": arg, "cursor_path": concrete.token_path},
        "offset": {"type": "offset", "offset_param": arg},
        "page_number": {"type": "page_number", "page_param": arg, "start": start},
    }
    models: dict[str, type[CursorPages | OffsetPages | PageNumberPages]] = {
        "token": CursorPages,
        "offset": OffsetPages,
        "page_number": PageNumberPages,
    }
    try:
        paginator: Paginator = models[kind].model_validate({**common, **own[kind]})
    except pydantic.ValidationError as error:
        first = describe_validation_error(error)[0]
        raise fail(f"{where}.{first.field}", first.message) from None
    size_arg = _arg(concrete.size_arg, f"{where}.size_arg", fail)
    return paginator, _arg(arg, f"{where}.arg", fail), size_arg


def _arg(name: str | None, field: str, fail: Fail) -> tuple[str, ...] | None:
    if name is None:
        return None
    if not _ARG.fullmatch(name):
        raise fail(field, "not an argument name (letters, digits, _ and -; dots for parts)")
    return tuple(name.split("."))


# -- arguments ------------------------------------------------------------------------------


def _arguments(
    given: Mapping[str, object], values: Mapping[str, Scalar], where: str, fail: Fail
) -> Arguments:
    result: Arguments = {}
    for name, value in given.items():
        put(result, tuple(name.split(".")), substitute(value, values), f"{where}.arguments", fail)
    return result


def substitute(value: object, values: Mapping[str, Scalar]) -> object:
    """`value` with settings filled in: a whole `"{name}"` becomes the setting's value as it
    is (a number stays a number), other texts have theirs written in."""
    if isinstance(value, str):
        whole = SETTING_REF.fullmatch(value)
        if whole is not None and whole.group(1) in values:
            return values[whole.group(1)]
        return interpolate(value, values)
    if isinstance(value, Mapping):
        return {key: substitute(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, values) for item in value]
    return value


def _json_object(text: str, values: Mapping[str, Scalar], where: str, fail: Fail) -> Arguments:
    field = f"{where}.arguments_json"
    raw = interpolate(text, values).strip()
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise fail(field, "is not JSON") from None
    if not isinstance(parsed, dict):
        raise fail(field, "must be a JSON object of argument names and values")
    return cast(Arguments, parsed)


def put(
    target: Arguments,
    path: tuple[str, ...],
    value: object,
    field: str = "arguments",
    fail: Fail | None = None,
) -> None:
    """Set `path` (nested parts) in `target` to `value`, making the parts on the way."""
    node = target
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            shown = ".".join(path)
            problem = f"{shown} goes into a part that already has a value"
            raise (fail(field, problem) if fail else ConfigError(f"{field}: {problem}"))
        node = child
    node[path[-1]] = value


def _merge(target: Arguments, extra: Mapping[str, object]) -> None:
    for key, value in extra.items():
        known = target.get(key)
        if isinstance(known, dict) and isinstance(value, Mapping):
            _merge(known, value)
        else:
            target[key] = value


# -- the call a page makes --------------------------------------------------------------------


def call_for(plan: EntityPlan, state: PageState) -> Call:
    """The operation and arguments of the page `state` points at. With a next operation,
    pages after the first send the token alone."""
    position = state.position
    if plan.next_operation is not None and position.cursor is not None and plan.arg:
        arguments: Arguments = {}
        put(arguments, plan.arg, position.cursor)
        return Call(plan.next_operation, arguments)
    arguments = copy.deepcopy(dict(plan.arguments))
    if state.since is not None:
        bound = {CURSOR: state.since}
        for name, value in plan.incremental_arguments.items():
            put(arguments, tuple(name.split(".")), substitute(value, bound))
    paginator = plan.stream.paginator
    if plan.arg is not None:
        if isinstance(paginator, PageNumberPages):
            put(arguments, plan.arg, position.page)
        elif isinstance(paginator, OffsetPages):
            put(arguments, plan.arg, position.offset)
        elif isinstance(paginator, CursorPages) and position.cursor is not None:
            put(arguments, plan.arg, position.cursor)
    if plan.size_arg is not None and not isinstance(paginator, NoPages):
        put(arguments, plan.size_arg, plan.page_size)
    return Call(plan.operation, arguments)
