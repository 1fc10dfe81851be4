"""Building `Settings` from where they come from, and saying clearly what is wrong.

Layers, later ones winning: defaults < the TOML file (`HUB_CONFIG` or an explicit path) <
`HUB_*` variables < command-line overrides. We layer them here rather than through
pydantic-settings' own sources because those read `os.environ` directly (tests and the CLI
pass the environment in: config is read once, in the composition root) and cannot tell which
layer a bad value came from; the message must name the setting as the user typed it
(`HUB_PORT`, `port in /etc/hub.toml`, `--port`) and never show a secret.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from config._settings import ENV_PREFIX, SENSITIVE_SETTINGS, Settings

CONFIG_ENV = f"{ENV_PREFIX}CONFIG"
_SHOWN_CHARS = 80


class SettingsError(ValueError):
    """A setting is missing or wrong. The message is one line, fit for the terminal."""


@dataclass(frozen=True, slots=True)
class SettingDoc:
    """One setting as `--help` shows it: its TOML key, its variable, default and meaning."""

    key: str
    env: str
    default: str | None
    description: str


def env_name(key: str) -> str:
    """The environment variable of a setting: `port` -> `HUB_PORT`."""
    return f"{ENV_PREFIX}{key.upper()}"


def setting_docs() -> tuple[SettingDoc, ...]:
    docs = []
    for key, field in Settings.model_fields.items():
        default = None if field.default is None else str(field.default)
        docs.append(SettingDoc(key, env_name(key), default, field.description or ""))
    return tuple(docs)


def load_settings(
    overrides: Mapping[str, object] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Settings from `config_file` (else `HUB_CONFIG`), then `env`, then `overrides`.

    `env` is the process environment as the caller has it (None: no variables); an empty
    variable counts as unset. `overrides` are keyed by setting name; None values are skipped,
    so a CLI can pass its optional flags as they are. Raises `SettingsError`.
    """
    environ: Mapping[str, str] = {} if env is None else env
    values: dict[str, object] = {}
    labels: dict[str, str] = {}
    path = config_file
    if path is None and environ.get(CONFIG_ENV):
        path = Path(environ[CONFIG_ENV])
    if path is not None:
        named_by = "" if config_file is not None else f"{CONFIG_ENV}: "
        for key, value in _read_toml(path, named_by).items():
            values[key] = value
            labels[key] = f"{key} in {path}"
    for key in Settings.model_fields:
        if raw := environ.get(env_name(key)):
            values[key] = raw
            labels[key] = env_name(key)
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
            labels[key] = f"--{key.replace('_', '-')}"
    try:
        return Settings.model_validate(values)
    except ValidationError as error:
        problems = (_describe(detail, labels, values) for detail in error.errors(include_url=False))
        raise SettingsError("; ".join(problems)) from None


def _read_toml(path: Path, named_by: str) -> dict[str, object]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise SettingsError(f"{named_by}config file not found: {path}") from None
    except OSError as error:
        raise SettingsError(f"{named_by}cannot read config file {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{path}: not valid UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path}: not valid TOML: {error}") from None


_MESSAGES = {
    "extra_forbidden": "unknown setting",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "string_type": "must be text",
    "path_type": "must be a path",
    "string_unicode": "must be valid Unicode (it contains a lone surrogate)",
}
_BOUNDS = frozenset({"greater_than_equal", "less_than_equal", "greater_than", "less_than"})


def _describe(detail: ErrorDetails, labels: Mapping[str, str], given: Mapping[str, object]) -> str:
    key = str(detail["loc"][0]) if detail["loc"] else ""
    kind = detail["type"]
    context = detail.get("ctx", {})
    if kind == "value_error":
        # Our own validators: each decides whether its message may show the value.
        return f"{labels.get(key, key)}: {context['error']}"
    if kind in _BOUNDS:
        message = _bounds_message(key)
    elif kind == "literal_error":
        message = f"must be {context['expected']}"
    else:
        message = _MESSAGES.get(kind) or detail["msg"][:1].lower() + detail["msg"][1:]
    if kind != "extra_forbidden" and key not in SENSITIVE_SETTINGS:
        message += f" (got {_shown(given.get(key, detail['input']))})"
    return f"{labels.get(key, key)}: {message}"


def _bounds_message(key: str) -> str:
    low = high = None
    for constraint in Settings.model_fields[key].metadata:
        low = getattr(constraint, "ge", low)
        high = getattr(constraint, "le", high)
    if low is not None and high is not None:
        return f"must be between {low} and {high}"
    return f"must be at least {low}" if low is not None else f"must be at most {high}"


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else f"{text[: _SHOWN_CHARS - 1]}…"
