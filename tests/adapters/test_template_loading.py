"""Loading templates: errors that name the field and the line, the settings' JSON Schema, and
templates found through entry points (a plugin that is one YAML file)."""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import pkgutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import adapters.templates
from adapters import (
    ENTRY_POINT_GROUP,
    AdapterContext,
    ConfigError,
    HttpClient,
    TemplateError,
    TemplateProblem,
    default_registry,
    load_registry,
    load_template,
    load_template_file,
    packaged_template_spec,
    template_file_spec,
    template_spec,
)
from runtime import SYSTEM_CLOCK, RateLimit, RateLimiter
from tests.adapters.notes_fake import notes_template

MINIMAL = """\
name: tiny
title: Tiny
description: The smallest template.
base_url: https://api.example
streams:
  things:
    path: /things
"""


def _problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(TemplateError) as caught:
        load_template(text, "t.yaml")
    return [(p.line, p.field, p.message) for p in caught.value.problems]


def test_minimal_template_loads_with_defaults() -> None:
    compiled = load_template(MINIMAL, "tiny.yaml")
    stream = compiled.streams["things"]
    assert (stream.path, stream.records, stream.primary_key) == ("/things", "", ("id",))
    assert compiled.credential_fields == ()
    spec = template_spec(compiled)
    assert (spec.name, spec.entities, spec.icon) == ("tiny", ("things",), "🔌")
    assert spec.settings_schema["properties"] == {}


def test_error_names_field_and_line_of_a_bad_value() -> None:
    text = MINIMAL + "    paginator:\n      type: page_number\n      page_size: lots\n"
    [(line, field, message)] = _problems(text)
    assert (line, field) == (10, "streams.things.paginator.page_size")
    assert "lots" not in message  # values are never quoted back


def test_error_names_a_missing_field_at_its_parent() -> None:
    text = MINIMAL.replace("base_url: https://api.example\n", "")
    assert _problems(text) == [(1, "base_url", "Field required")]


def test_error_for_an_unknown_field_and_a_wrong_union_member() -> None:
    text = MINIMAL + "    colour: red\nauth:\n  type: kerberos\n"
    problems = _problems(text)
    assert (8, "streams.things.colour", "unknown field") in problems
    assert any(line == 10 and field == "auth.type" for line, field, _ in problems), problems


def test_error_str_lists_every_problem_with_file_and_line() -> None:
    text = MINIMAL.replace("/things", "/things/{tenant}") + "timeout: '{wait}'\n"
    with pytest.raises(TemplateError) as caught:
        load_template(text, "t.yaml")
    assert str(caught.value).splitlines() == [
        "template t.yaml: 2 problems",
        "  t.yaml: line 7: streams.things.path: {tenant} is not one of the template's settings",
        "  t.yaml: line 8: timeout: {wait} is not one of the template's settings",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\n  bad: indent\n", (2, "", "mapping values are not allowed here")),
        ("- just\n- a list\n", (1, "", "a template is a mapping of fields")),
        (MINIMAL + "streams:\n  other: {}\n", (8, "streams", "this key appears twice")),
        ("", (1, "", "the file is empty")),
    ],
)
def test_yaml_mistakes_named_by_line(text: str, expected: tuple[int, str, str]) -> None:
    assert _problems(text) == [expected]


@pytest.mark.parametrize(
    ("addition", "field", "message"),
    [
        ("check:\n  stream: nope\n", "check.stream", "there is no stream 'nope'"),
        ("check:\n  stream: things\n  path: /x\n", "check", "give exactly one of stream and path"),
        (
            "errors:\n  retry: [500]\n  fail: [500]\n",
            "errors.fail",
            "status 500 is already under retry",
        ),
        (
            "auth:\n  type: basic\n  username: same\n  password: same\n",
            "auth",
            "username and password must be different credentials",
        ),
        (
            "settings:\n  size:\n    type: string\ndefaults:\n  paginator:\n    type: offset\n"
            "    page_size: '{size}'\n",
            "defaults.paginator.page_size",
            "{size} must be a setting of type integer",
        ),
        (
            "defaults:\n  incremental:\n    cursor_field: updated\n    params:\n      since: x\n",
            "defaults.incremental.params",
            "no parameter carries {cursor}",
        ),
        (
            "settings:\n  region:\n    enum: [eu, us]\n    default: asia\n",
            "settings.region.default",
            "the default is not one of enum",
        ),
    ],
)
def test_cross_references_checked(addition: str, field: str, message: str) -> None:
    problems = _problems(MINIMAL + addition)
    assert [(f, m) for _, f, m in problems] == [(field, message)]
    assert all(line is not None and line > 7 for line, _, _ in problems)


def test_settings_become_json_schema_and_are_checked() -> None:
    compiled = load_template(notes_template("offset"), "notes.yaml")
    schema = template_spec(compiled).settings_schema
    assert schema["required"] == ["base_url"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["base_url"]["format"] == "uri"  # type: ignore[index, call-overload]  # JSON


async def test_settings_problems_reported_by_connect_as_config_error() -> None:
    spec = template_spec(load_template(notes_template("offset"), "notes.yaml"))
    limiter = RateLimiter(RateLimit(10), clock=SYSTEM_CLOCK)
    context = AdapterContext(
        "n-1",
        {"base_url": "notes.example", "page_size": 0},
        {},
        HttpClient(limiter),
        limiter,
        SYSTEM_CLOCK,
    )
    adapter = spec.factory(context)  # building it never raises: the actor must see a ConfigError
    with pytest.raises(ConfigError) as caught:
        await adapter.connect()
    assert "base_url: must be an http:// or https:// URL" in str(caught.value)
    assert "page_size: Input should be greater than or equal to 1" in str(caught.value)


def test_template_file_loading(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert template_file_spec(path).name == "tiny"
    with pytest.raises(TemplateError, match="cannot read the file"):
        load_template_file(tmp_path / "missing.yaml")


# -- entry points ------------------------------------------------------------------------------


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[importlib.metadata.EntryPoint]]:
    found: list[importlib.metadata.EntryPoint] = []

    def entry_points(*, group: str) -> list[importlib.metadata.EntryPoint]:
        return found if group == ENTRY_POINT_GROUP else []

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    default_registry.cache_clear()
    yield found
    default_registry.cache_clear()


def test_entry_point_naming_a_packaged_template(
    installed: list[importlib.metadata.EntryPoint],
) -> None:
    installed.append(
        importlib.metadata.EntryPoint(
            "xentral", "adapters.templates:xentral.yaml", ENTRY_POINT_GROUP
        )
    )
    registry = load_registry()
    assert registry.problems == ()
    assert registry.get("xentral") is packaged_template_spec("adapters.templates", "xentral.yaml")


def test_plugin_that_is_only_a_yaml_file(
    installed: list[importlib.metadata.EntryPoint],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    package = tmp_path / "hub_tiny_plugin"  # a namespace package: no __init__.py, one file
    package.mkdir()
    (package / "tiny.yaml").write_text(MINIMAL, encoding="utf-8")
    (package / "broken.yaml").write_text(
        MINIMAL.replace("title: Tiny", "title: ''"), encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    installed += [
        importlib.metadata.EntryPoint("tiny", "hub_tiny_plugin:tiny.yaml", ENTRY_POINT_GROUP),
        importlib.metadata.EntryPoint("broken", "hub_tiny_plugin:broken.yaml", ENTRY_POINT_GROUP),
        importlib.metadata.EntryPoint("gone", "hub_no_such_plugin:x.yaml", ENTRY_POINT_GROUP),
    ]
    registry = load_registry()
    assert registry.get("tiny").entities == ("things",)
    assert len(registry.problems) == 2
    assert registry.problems[0].startswith("entry point 'broken': TemplateError: template ")
    assert "line 2: title: String should have at least 1 character" in registry.problems[0]
    assert registry.problems[1].startswith("entry point 'gone': TemplateError")


def test_template_text_is_dedented_yaml() -> None:
    text = textwrap.dedent(
        """
        name: anchors
        title: Anchors
        description: Merge keys and anchors work as YAML has them.
        base_url: https://api.example
        defaults: &shared
          records: items
        streams:
          a:
            <<: *shared
            path: /a
        """
    )
    assert load_template(text).streams["a"].records == "items"


# The machinery the template modules share among themselves: pure paging rules, the YAML
# reader, settings and auth helpers. Everything else they define is exported.
INTERNAL = {
    "Located", "Page", "PageState", "Position", "Reply",
    "check_settings", "credential_fields", "cross_check", "cursor_value", "finished",
    "first_position", "interpolate", "is_static", "lower_bound", "newer", "next_link",
    "page_request", "parse", "problems_of", "query_names", "query_string", "read_page",
    "read_path", "required", "resolve", "same_origin", "select_records", "settings_model",
    "settings_schema", "start", "static_credentials", "to_record", "whole_number",
    "without_params", "CompiledKind", "catalog_spec", "require_entities", "advancing",
    "checked_health",
}  # fmt: skip


def test_templates_package_exports_its_public_definitions() -> None:
    package = adapters.templates
    defined: set[str] = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for name, value in vars(module).items():
            here = getattr(value, "__module__", None) == module.__name__
            if (
                here
                and not name.startswith("_")
                and (inspect.isclass(value) or inspect.isfunction(value))
            ):
                defined.add(name)
    assert defined - set(package.__all__) == INTERNAL
    assert all(hasattr(package, name) for name in package.__all__)


def test_the_example_in_the_docs_loads() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "templates.md"
    example = docs.read_text(encoding="utf-8").split("```yaml\n", 1)[1].split("```", 1)[0]
    spec = template_spec(load_template(example, "helpdesk.yaml"))
    assert (spec.entities, spec.credential_fields) == (("tickets", "agents"), ("api_key",))
    broken = example.replace('"{page_size}"', '"{size}"').replace('"{cursor}"', '"x"')
    assert [(p.line, p.field) for p in _problem_list(broken)] == [
        (40, "defaults.paginator.page_size"),
        (52, "streams.tickets.incremental.params"),
    ]


def _problem_list(text: str) -> tuple[TemplateProblem, ...]:
    with pytest.raises(TemplateError) as caught:
        load_template(text, "helpdesk.yaml")
    return caught.value.problems
