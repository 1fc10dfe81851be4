"""A template's settings as a pydantic model built at load time: one source for the JSON Schema
the wizard renders and for checking an integration's settings before the adapter runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlsplit

import pydantic
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

from adapters._errors import ConfigError
from adapters._values import JsonObject, JsonValue
from adapters.templates._model import RestTemplate, Scalar, SettingField
from config import describe_validation_error

_TYPES: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool}


def settings_model(template: RestTemplate) -> type[BaseModel]:
    """The model of `template.settings` (raises ValueError naming a setting it cannot build)."""
    fields: dict[str, Any] = {}
    for name, setting in template.settings.items():
        try:
            fields[name] = _field(name, setting)
        except (TypeError, ValueError, pydantic.PydanticUserError) as error:
            raise ValueError(f"settings.{name}: {error}") from None
    config = ConfigDict(frozen=True, extra="forbid", title=f"{template.title} settings")
    try:
        return create_model(f"{template.name}_settings", __config__=config, **fields)
    except (TypeError, ValueError, pydantic.PydanticUserError) as error:
        raise ValueError(f"settings: {error}") from None


def _field(name: str, setting: SettingField) -> tuple[Any, Any]:
    kind: Any = _TYPES[setting.type]
    checks: list[Any] = []
    extra: dict[str, JsonValue] = {}
    if setting.enum is not None:
        extra["enum"] = list(setting.enum)
        checks.append(AfterValidator(_one_of(setting.enum)))
    if setting.format is not None:
        extra["format"] = setting.format
        if setting.format == "uri":
            checks.append(AfterValidator(_http_url))
    if checks:
        kind = _annotated(kind, checks)
    options: dict[str, Any] = {
        "title": setting.title or name.replace("_", " ").capitalize(),
        "description": setting.description or None,
        "ge": _bound(setting.minimum, setting.type),
        "le": _bound(setting.maximum, setting.type),
        "pattern": setting.pattern,
        "examples": list(setting.examples) or None,
        "json_schema_extra": extra or None,
    }
    info = Field(... if setting.default is None else setting.default, **options)
    return kind, info


def _bound(value: float | None, kind: str) -> float | None:
    """A limit as the setting's type shows it (`10`, not `10.0`, for an integer)."""
    if value is not None and kind == "integer" and float(value).is_integer():
        return int(value)
    return value


def _annotated(kind: Any, checks: list[Any]) -> Any:
    return Annotated[(kind, *checks)]


def _one_of(values: tuple[Scalar, ...]) -> Any:
    def check(value: Scalar) -> Scalar:
        if value not in values:
            raise ValueError(f"must be one of {', '.join(map(str, values))}")
        return value

    return check


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL")
    if parts.username or parts.password:
        raise ValueError("must not carry a user name or password (those are credentials)")
    return value


def settings_schema(model: type[BaseModel]) -> JsonObject:
    schema: JsonObject = model.model_json_schema()
    return schema


def check_settings(
    model: type[BaseModel], settings: Mapping[str, JsonValue], *, adapter: str, integration: str
) -> dict[str, Scalar]:
    """An integration's settings, checked and with defaults filled in; a ConfigError names
    every bad field (never its value)."""
    try:
        checked = model.model_validate(dict(settings))
    except pydantic.ValidationError as error:
        problems = "; ".join(
            f"{problem.field or '(settings)'}: {problem.message}"
            for problem in describe_validation_error(error)
        )
        raise ConfigError(f"{adapter} settings of {integration!r}: {problems}") from None
    return dict(checked.model_dump())
