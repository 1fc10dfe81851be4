"""What pydantic cannot see field by field in a SOAP template: how its parts refer to each other.

`cross_check` returns every problem as (path into the file, message), so the loader can name the
line: `{setting}`s that are not settings, a `"{setting}"` choosing a kind whose choices do not
fit, paging that lacks what its kind needs, an incremental cursor nobody sends, a check that
names no entity, a WSDL file outside the template's directory.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from adapters.templates._checks import _settings as setting_problems
from adapters.templates._model import CURSOR, RestTemplate
from adapters.templates.soap._model import (
    AUTH_TYPES,
    PAGING_TYPES,
    SETTING_REF,
    Entity,
    Paging,
    SoapTemplate,
)

Path = tuple[str | int, ...]
Problem = tuple[Path, str]


def cross_check(template: SoapTemplate) -> list[Problem]:
    return [
        *_variables(template),
        *_choices(template),
        *_entities(template),
        *_check(template),
        *_wsdl(template),
        *_auth(template),
        *setting_problems(settings_part(template)),
    ]


def settings_part(template: SoapTemplate) -> RestTemplate:
    """The template's settings as the REST template's settings part: the same declaration,
    checked and turned into the wizard's schema by the same code (unvalidated on purpose:
    only `name`, `title` and `settings` are read)."""
    return RestTemplate.model_construct(
        name=template.name, title=template.title, settings=template.settings
    )


def credential_fields(template: SoapTemplate) -> tuple[str, ...]:
    """The credentials the wizard asks for: none only when the template says `none` itself."""
    auth = template.auth
    return () if auth.type == "none" else (auth.username, auth.password)


# -- {setting}s -----------------------------------------------------------------------------


def _texts(template: SoapTemplate) -> Iterator[tuple[Path, str, bool]]:
    """Every text that may hold `{setting}`s: (path, text, may it use {cursor})."""
    for name in ("wsdl", "service", "port", "endpoint"):
        value = getattr(template, name)
        if value is not None:
            yield (name,), value, False
    for name, entity in template.entities.items():
        yield from _entity_texts(("entities", name), entity)
    check = template.check
    if check is not None:
        if check.operation is not None:
            yield ("check", "operation"), check.operation, False
        yield from _json_texts(("check", "arguments"), dict(check.arguments), False)


def _entity_texts(where: Path, entity: Entity) -> Iterator[tuple[Path, str, bool]]:
    yield (*where, "operation"), entity.operation, False
    yield from _json_texts((*where, "arguments"), dict(entity.arguments), False)
    if entity.arguments_json is not None:
        yield (*where, "arguments_json"), entity.arguments_json, False
    yield (*where, "records"), entity.records, False
    keys = entity.primary_key
    for index, key in enumerate((keys,) if isinstance(keys, str) else keys):
        yield (*where, "primary_key", *(() if isinstance(keys, str) else (index,))), key, False
    paging = entity.paging
    for name in ("arg", "size_arg", "total_path", "token_path", "next_operation"):
        value = getattr(paging, name)
        if value is not None:
            yield (*where, "paging", name), value, False
    if entity.incremental is not None:
        arguments = dict(entity.incremental.arguments)
        yield from _json_texts((*where, "incremental", "arguments"), arguments, True)


def _json_texts(where: Path, value: object, cursor: bool) -> Iterator[tuple[Path, str, bool]]:
    if isinstance(value, str):
        yield where, value, cursor
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _json_texts((*where, key), item, cursor)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_texts((*where, index), item, cursor)


def _variables(template: SoapTemplate) -> Iterator[Problem]:
    for path, text, cursor_allowed in _texts(template):
        for name in SETTING_REF.findall(text):
            if name == CURSOR and cursor_allowed:
                continue
            if name not in template.settings:
                yield path, f"{{{name}}} is not one of the template's settings"
    for name, entity in template.entities.items():
        incremental = entity.incremental
        if incremental is not None and not any(
            f"{{{CURSOR}}}" in str(value) for value in incremental.arguments.values()
        ):
            where = ("entities", name, "incremental", "arguments")
            yield where, "no argument carries {cursor}"


# -- kinds chosen by a setting ------------------------------------------------------------


def _choices(template: SoapTemplate) -> Iterator[Problem]:
    """A `"{setting}"` that chooses a kind must be a setting of the right type whose `enum`
    lists only choices the field knows (so the wizard shows a list, and nothing else)."""
    wanted: list[tuple[Path, object, str, tuple[object, ...] | None]] = [
        (("auth", "type"), template.auth.type, "string", AUTH_TYPES),
        (("timeout",), template.timeout, "number", None),
    ]
    for name, entity in template.entities.items():
        where: Path = ("entities", name, "paging")
        paging = entity.paging
        wanted += [
            ((*where, "type"), paging.type, "string", PAGING_TYPES),
            ((*where, "start"), paging.start, "integer", (0, 1)),
            ((*where, "page_size"), paging.page_size, "integer", None),
        ]
    for path, value, kind, choices in wanted:
        if not isinstance(value, str) or not SETTING_REF.fullmatch(value):
            continue
        setting = template.settings.get(value.strip("{}"))
        if setting is None:
            yield path, f"{value} is not one of the template's settings"
        elif setting.type != kind and not (kind == "number" and setting.type == "integer"):
            yield path, f"{value} must be a setting of type {kind}"
        elif choices is not None and (
            setting.enum is None or any(choice not in choices for choice in setting.enum)
        ):
            shown = ", ".join(map(str, choices))
            yield path, f"{value} must be a setting with an enum of some of: {shown}"


# -- entities, check, WSDL, auth ------------------------------------------------------------


def _entities(template: SoapTemplate) -> Iterator[Problem]:
    for name, entity in template.entities.items():
        where: Path = ("entities", name, "paging")
        paging = entity.paging
        yield from paging_problems(where, paging)
        literal = not SETTING_REF.fullmatch(paging.type)
        if literal and paging.type != "token" and paging.next_operation:
            yield (*where, "next_operation"), "a next operation is for paging by token"


def paging_problems(where: Path, paging: Paging) -> Iterator[Problem]:
    """What a kind of paging needs (when the kind is known: at load, or once settings apply)."""
    if paging.type != "token":
        return
    if not paging.arg:
        yield (*where, "arg"), "paging by token needs the argument that carries it"
    if not paging.token_path:
        yield (*where, "token_path"), "paging by token needs token_path, where the next one is"


def _check(template: SoapTemplate) -> Iterator[Problem]:
    check = template.check
    if check is None:
        return
    if check.entity is not None and check.operation is not None:
        yield ("check",), "give an entity or an operation, not both"
    elif check.entity is not None and check.entity not in template.entities:
        yield ("check", "entity"), f"there is no entity {check.entity!r}"
    elif check.operation is None and check.arguments:
        yield ("check", "arguments"), "arguments belong to an operation"


def _wsdl(template: SoapTemplate) -> Iterator[Problem]:
    wsdl = template.wsdl
    if SETTING_REF.search(wsdl):
        return  # known once the settings are
    problem = wsdl_file_problem(wsdl)
    if problem is not None:
        yield ("wsdl",), problem


def wsdl_file_problem(wsdl: str) -> str | None:
    """None if `wsdl` is an http(s) URL or a file name beside the template, else why not."""
    scheme = urlsplit(wsdl).scheme.lower()
    if scheme in ("http", "https"):
        return None if urlsplit(wsdl).hostname else "the URL has no host"
    if scheme and len(scheme) > 1:  # c:\... is no scheme, but is no relative name either
        return "must be an http:// or https:// URL or a file beside the template"
    path = PurePosixPath(wsdl.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or ":" in wsdl:
        return "a WSDL file must be named relative to the template, inside its directory"
    return None


def _auth(template: SoapTemplate) -> Iterator[Problem]:
    auth = template.auth
    if auth.username == auth.password:
        yield ("auth",), "username and password must be different credentials"
