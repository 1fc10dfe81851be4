"""The setup wizard's connection form, made from an adapter's settings schema; the cron hint.

An adapter describes its settings as JSON Schema (`AdapterSpec.settings_schema`, usually a
pydantic model's). `form_fields` turns the schema's top-level properties into input fields:
numbers, text, URLs, dates, choices and switches as such, anything nested as a JSON text area.
The browser sends what was typed; the API validates it against the same configuration models,
and its errors come back naming the field (`settings.page_size`), next to which they are shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from croniter import croniter
from pydantic import ValidationError

from actors._webhook_endpoints import SECRET_FIELD as WEBHOOK_SECRET
from adapters import AdapterSpec, AdapterStatus
from config import ScheduleConfig, describe_validation_error

_WORDS = {
    "api": "API",
    "url": "URL",
    "uri": "URI",
    "id": "ID",
    "imap": "IMAP",
    "smtp": "SMTP",
    "http": "HTTP",
    "oauth": "OAuth",
    "caldav": "CalDAV",
    "tls": "TLS",
}
_FORMATS = {"uri": "url", "url": "url", "email": "email", "date": "date", "password": "password"}
_NUMBER_TYPES = {"integer", "number"}
_WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MACROS = {
    "@hourly": "every hour, on the hour",
    "@daily": "every day at 00:00",
    "@midnight": "every day at 00:00",
    "@weekly": "every Sunday at 00:00",
    "@monthly": "on the 1st of every month at 00:00",
    "@yearly": "every 1 January at 00:00",
    "@annually": "every 1 January at 00:00",
}
NEXT_RUNS = 3
CUSTOM = "a custom schedule"


@dataclass(frozen=True, slots=True)
class FormField:
    """One input: `path` is the field's dotted name in the integration input (and in the API's
    422 errors); `json_type` tells the browser how to convert what was typed."""

    path: str
    label: str
    kind: str  # text | number | checkbox | select | date | url | email | password | json
    json_type: str  # string | integer | number | boolean | json
    required: bool = False
    value: str = ""
    checked: bool = False
    options: tuple[str, ...] = ()
    minimum: str = ""
    maximum: str = ""
    help: str = ""
    one_of: str = ""  # a credential with alternatives: its group, one of which must be given
    alternatives: tuple[str, ...] = ()  # the labels of the others in that group


@dataclass(frozen=True, slots=True)
class AdapterForm:
    """An adapter as the wizard offers it."""

    name: str
    title: str
    icon: str
    description: str
    kind: str
    available: bool
    fields: tuple[FormField, ...]
    credentials: tuple[FormField, ...]
    entities: tuple[str, ...]


def humanize(name: str) -> str:
    """`api_key` -> "API key", `base_url` -> "Base URL", `pageSize` -> "Page size"."""
    spaced = "".join(f" {c.lower()}" if c.isupper() else c for c in name).replace("_", " ")
    words = [_WORDS.get(word, word) for word in spaced.split()]
    if not words:
        return name
    first = words[0]
    words[0] = first if first in _WORDS.values() else first.capitalize()
    return " ".join(words)


def adapter_form(spec: AdapterSpec) -> AdapterForm:
    return AdapterForm(
        name=spec.name,
        title=spec.title,
        icon=spec.icon,
        description=spec.description,
        kind=str(spec.kind),
        available=spec.status is AdapterStatus.AVAILABLE,
        fields=form_fields(spec.settings_schema),
        credentials=credential_fields(spec),
        entities=spec.entities,
    )


def credential_fields(spec: AdapterSpec) -> tuple[FormField, ...]:
    """A password input per credential but the webhook secret (the wizard's webhook part asks
    for that): required when it is a group of its own in `spec.credential_groups`, one of a
    group when it has alternatives there, else optional."""
    groups = spec.credential_groups
    fields = []
    for name in spec.credential_fields:
        if name == WEBHOOK_SECRET:
            continue
        group = next((g for g in groups if name in g), ())
        others = tuple(humanize(other) for other in group if other != name)
        fields.append(
            FormField(
                f"credentials.{name}",
                humanize(name),
                "password",
                "string",
                required=group == (name,),
                help=spec.credential_help.get(name, ""),
                one_of=" ".join(group) if others else "",
                alternatives=others,
            )
        )
    return tuple(fields)


def form_fields(schema: Mapping[str, object], prefix: str = "settings") -> tuple[FormField, ...]:
    """One field per top-level property of an object schema, in the schema's order."""
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return ()
    required = schema.get("required")
    needed = set(required) if isinstance(required, list) else set()
    defs = schema.get("$defs")
    definitions = defs if isinstance(defs, Mapping) else {}
    return tuple(
        _field(f"{prefix}.{name}", str(name), _resolve(prop, definitions), name in needed)
        for name, prop in properties.items()
        if isinstance(prop, Mapping)
    )


def _resolve(prop: Mapping[str, object], definitions: Mapping[str, object]) -> dict[str, object]:
    """Follow a `$ref` (or a one-item `allOf` of one), take the non-null branch of an
    optional's `anyOf`; the property's own keys (title, default) win over the target's."""
    own = {k: v for k, v in prop.items() if k not in ("$ref", "allOf", "anyOf")}
    target: object = prop
    all_of = prop.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1:
        target = all_of[0]
    any_of = prop.get("anyOf")
    if isinstance(any_of, list):
        branches = [b for b in any_of if isinstance(b, Mapping) and b.get("type") != "null"]
        if len(branches) == 1:
            target = branches[0]
    if isinstance(target, Mapping):
        ref = target.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            found = definitions.get(ref.removeprefix("#/$defs/"))
            target = found if isinstance(found, Mapping) else {}
        return {**{k: v for k, v in target.items() if k != "$ref"}, **own}
    return own


def _field(path: str, name: str, prop: Mapping[str, object], required: bool) -> FormField:
    title = prop.get("title")
    automatic = name.replace("_", " ").title()  # what pydantic makes of a field's name
    label = str(title) if title and title != automatic else humanize(name)
    help_text = str(prop.get("description") or "")
    default = prop.get("default")
    kind, json_type = _kind(prop)
    value = "" if default is None or kind == "checkbox" else _shown(default, json_type)
    enum = prop.get("enum")
    return FormField(
        path=path,
        label=label,
        kind=kind,
        json_type=json_type,
        required=required,
        value=value,
        checked=default is True,
        options=tuple(str(option) for option in enum) if isinstance(enum, list) else (),
        minimum=_bound(prop, "minimum", "exclusiveMinimum"),
        maximum=_bound(prop, "maximum", "exclusiveMaximum"),
        help=help_text,
    )


def _kind(prop: Mapping[str, object]) -> tuple[str, str]:
    kind = prop.get("type")
    if isinstance(prop.get("enum"), list):
        return "select", "integer" if kind == "integer" else "string"
    if kind == "boolean":
        return "checkbox", "boolean"
    if kind in _NUMBER_TYPES:
        return "number", str(kind)
    if kind == "string":
        if prop.get("writeOnly") is True:
            return "password", "string"
        return _FORMATS.get(str(prop.get("format")), "text"), "string"
    return "json", "json"


def _shown(value: object, json_type: str) -> str:
    if json_type == "json":
        return json.dumps(value)
    return str(value)


def _bound(prop: Mapping[str, object], inclusive: str, exclusive: str) -> str:
    for key in (inclusive, exclusive):
        value = prop.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    return ""


# -- schedule ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CronHint:
    ok: bool
    text: str
    next_runs: tuple[str, ...] = ()


def cron_hint(expression: str, now: datetime) -> CronHint:
    """What a schedule means in words, and its next runs (UTC, as the scheduler plans)."""
    try:
        ScheduleConfig.model_validate({"cron": expression})
    except ValidationError as error:
        return CronHint(False, "; ".join(p.message for p in describe_validation_error(error)))
    stripped = expression.strip()
    words = describe_cron(stripped)
    runs = croniter(stripped, now)
    upcoming = tuple(runs.get_next(datetime).strftime("%a %H:%M") for _ in range(NEXT_RUNS))
    return CronHint(True, words[0].upper() + words[1:], upcoming)


def describe_cron(expression: str) -> str:
    """Common shapes in words; anything else is "a custom schedule"."""
    if expression.startswith("@"):
        return _MACROS.get(expression.lower(), CUSTOM)
    fields = expression.split()
    if len(fields) != 5:
        return CUSTOM
    return _describe_fields(*fields)


def _describe_fields(minute: str, hour: str, dom: str, month: str, dow: str) -> str:
    if dom != "*" or month != "*":
        if month == "*" and dom.isdigit() and minute.isdigit() and hour.isdigit():
            return f"on day {dom} of every month at {_clock(hour, minute)}"
        return CUSTOM
    if hour == "*" and dow == "*":
        return _within_hours(minute, "every hour")
    if hour.startswith("*/") and hour[2:].isdigit() and dow == "*" and minute.isdigit():
        return _within_hours(minute, f"every {hour[2:]} hours")
    if minute.isdigit() and hour.isdigit():
        return _days(dow, _clock(hour, minute))
    return CUSTOM


def _within_hours(minute: str, every: str) -> str:
    if minute == "*" and every == "every hour":
        return "every minute"
    if minute.startswith("*/") and minute[2:].isdigit() and every == "every hour":
        return f"every {minute[2:]} minutes"
    if minute.isdigit():
        return f"{every} at minute {int(minute)}"
    return CUSTOM


def _days(dow: str, at: str) -> str:
    if dow == "*":
        return f"every day at {at}"
    if dow == "1-5":
        return f"on weekdays at {at}"
    if dow.isdigit() and int(dow) <= 7:  # 0 and 7 are both Sunday
        return f"every {_WEEKDAYS[int(dow) % 7]} at {at}"
    return CUSTOM


def _clock(hour: str, minute: str) -> str:
    return f"{int(hour):02d}:{int(minute):02d}"
