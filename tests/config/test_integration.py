"""Integration configuration: the full shape, its limits, clean text, write-only credentials."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from config import (
    MAX_CREDENTIAL_CHARS,
    MAX_SETTINGS_BYTES,
    ConflictPolicy,
    FieldProblem,
    HttpMethod,
    IntegrationConfig,
    IntegrationInput,
    IntegrationType,
    ScheduleConfig,
    Transform,
    WebhookScheme,
    describe_validation_error,
)

SQL = "'; DROP TABLE x; --"
SQL_URL = "https://example.com/search?q=';DROP/**/TABLE/**/x;--"
SECRET = "S3cret-credential-value"
ADAPTERS = {"adapters": {"demo", "xentral"}}


def _full() -> dict[str, Any]:
    return {
        "id": "xentral-main",
        "name": "Xentral ERP",
        "description": "Orders and invoices.\nOwned by finance.",
        "type": "REST",
        "adapter": "xentral",
        "enabled": True,
        "endpoints": [
            {"name": "api", "url": "https://api.xentral.com/v1", "method": "GET"},
            {"name": "orders", "url": "http://127.0.0.1:4010/orders?x=1", "method": "POST"},
        ],
        "rate_limits": {"rate": 10, "period": 1.5, "burst": 5},
        "retry_policy": {
            "max_attempts": 3,
            "initial_backoff": 0.5,
            "max_backoff": 30,
            "retry_on_status": [429, 503],
        },
        "health": {"interval": 60, "timeout": 5, "failure_threshold": 2},
        "schedule": {"cron": "0 * * * *", "jitter_seconds": 10, "enabled": True},
        "entities": ["customers", "invoices"],
        "field_mapping": {
            "customers": [
                {"source": "address.city", "target": "city", "transform": "strip"},
                {"source": "id", "target": "external_id", "transform": "string"},
            ]
        },
        "conflict_policy": "newest_wins",
        "webhook": {"scheme": "stripe", "tolerance_seconds": 120},
        "settings": {"page_size": 100, "nested": {"list": [1, 2.5, None, True, "x"]}},
    }


def _minimal() -> dict[str, Any]:
    return {"id": "demo", "name": "Demo", "type": "REST", "adapter": "demo"}


def _problems(
    model: type[IntegrationConfig | IntegrationInput], data: object
) -> list[FieldProblem]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data, context=ADAPTERS)
    return describe_validation_error(caught.value)


def _fields(problems: list[FieldProblem]) -> list[str]:
    return [problem.field for problem in problems]


def test_integration_config_full_example_round_trips() -> None:
    config = IntegrationConfig.model_validate(_full(), context=ADAPTERS)
    assert IntegrationConfig.model_validate(config.model_dump(), context=ADAPTERS) == config
    assert IntegrationConfig.model_validate_json(config.model_dump_json()) == config
    assert config.type is IntegrationType.REST
    assert config.endpoints[1].method is HttpMethod.POST
    assert config.field_mapping["customers"][0].transform is Transform.STRIP
    assert config.conflict_policy is ConflictPolicy.NEWEST_WINS
    assert config.webhook is not None
    assert config.webhook.scheme is WebhookScheme.STRIPE


def test_integration_config_minimal_uses_defaults() -> None:
    config = IntegrationConfig.model_validate(_minimal())
    assert config.enabled
    assert config.endpoints == ()
    assert config.rate_limits is None
    assert config.retry_policy.max_attempts == 5
    assert config.retry_policy.retry_on_status == (408, 425, 429, 500, 502, 503, 504)
    assert (config.health.interval, config.health.timeout) == (30.0, 10.0)
    assert config.health.failure_threshold == 3
    assert config.schedule == ScheduleConfig(cron=None, jitter_seconds=None, enabled=True)
    assert config.conflict_policy is ConflictPolicy.SOURCE_WINS
    assert config.webhook is None
    assert config.settings == {}
    assert config.credential_fields == ()


def test_integration_config_every_type_accepted() -> None:
    for kind in ("REST", "GraphQL", "SOAP", "Webhook", "IMAP", "CalDAV"):
        assert IntegrationConfig.model_validate({**_minimal(), "type": kind}).type == kind


def test_integration_config_is_frozen() -> None:
    config = IntegrationConfig.model_validate(_full())
    with pytest.raises(ValidationError, match="frozen"):
        config.name = "other"
    with pytest.raises(ValidationError, match="frozen"):
        config.schedule.enabled = False


def test_integration_input_to_config_keeps_credential_names_only() -> None:
    data = {**_full(), "credentials": {"api_secret": SECRET, "api_key": "key-value"}}
    config = IntegrationInput.model_validate(data, context=ADAPTERS).to_config()
    assert config.credential_fields == ("api_key", "api_secret")
    assert SECRET not in config.model_dump_json()
    assert config == IntegrationConfig.model_validate(
        {**_full(), "credential_fields": ["api_key", "api_secret"]}
    )


def test_integration_input_credentials_readable_by_the_vault() -> None:
    data = {**_minimal(), "credentials": {"password": SECRET}}
    credentials = IntegrationInput.model_validate(data).credentials
    assert credentials["password"].get_secret_value() == SECRET


def test_integration_adapter_unknown_with_context_lists_known() -> None:
    problems = _problems(IntegrationConfig, {**_minimal(), "adapter": "salesforce"})
    assert problems == [
        FieldProblem("adapter", "unknown adapter 'salesforce'; known adapters: demo, xentral")
    ]


def test_integration_adapter_unchecked_without_context() -> None:
    assert IntegrationConfig.model_validate({**_minimal(), "adapter": "salesforce"}).adapter


def test_integration_adapter_none_installed_says_so() -> None:
    with pytest.raises(ValidationError) as caught:
        IntegrationConfig.model_validate(_minimal(), context={"adapters": set()})
    assert describe_validation_error(caught.value)[0].message.endswith("none are installed")


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("61 * * * *", "not a valid cron expression: '61 * * * *'"),
        ("every hour", "not a valid cron expression: 'every hour' has 2 fields"),
        ("* * * * * *", "not a valid cron expression: '* * * * * *' has 6 fields"),
        ("", "not a valid cron expression: '' has 0 fields"),
        ("0 0 31 2 *", "cron expression '0 0 31 2 *' never matches a date"),
    ],
)
def test_integration_schedule_invalid_cron_names_field_and_expression(
    cron: str, message: str
) -> None:
    problems = _problems(IntegrationConfig, {**_minimal(), "schedule": {"cron": cron}})
    assert _fields(problems) == ["schedule.cron"]
    assert problems[0].message.startswith(message)


@pytest.mark.parametrize("cron", ["*/15 * * * *", "0 9-17 * * mon-fri", "@daily"])
def test_integration_schedule_valid_cron_accepted(cron: str) -> None:
    config = IntegrationConfig.model_validate({**_minimal(), "schedule": {"cron": cron}})
    assert config.schedule.cron == cron


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "must be an http:// or https:// URL (got scheme 'ftp')"),
        ("javascript:alert(1)", "must be an http:// or https:// URL (got scheme 'javascript')"),
        ("file:///etc/passwd", "must be an http:// or https:// URL (got scheme 'file')"),
        ("example.com/api", "must be an http:// or https:// URL (got scheme '')"),
        ("https:///path", "must name a host"),
        ("https://example.com:99999/", "is not a valid URL (check the host and port)"),
        ("https://example.com/a b", "must not contain spaces (percent-encode them as %20)"),
        ("https://hub:pw@example.com/", "must not contain a user name or password"),
    ],
)
def test_integration_endpoint_bad_url_rejected(url: str, message: str) -> None:
    data = {**_minimal(), "endpoints": [{"name": "api", "url": url}]}
    problems = _problems(IntegrationConfig, data)
    assert _fields(problems) == ["endpoints.0.url"]
    assert problems[0].message.startswith(message)


def test_integration_endpoint_url_kept_unchanged() -> None:
    url = "HTTPS://Example.COM:8443/a/../b?q=%20x#frag"
    data = {**_minimal(), "endpoints": [{"name": "api", "url": url}]}
    assert IntegrationConfig.model_validate(data).endpoints[0].url == url


def test_integration_endpoint_duplicate_names_rejected() -> None:
    endpoint = {"name": "api", "url": "https://example.com"}
    problems = _problems(IntegrationConfig, {**_minimal(), "endpoints": [endpoint, endpoint]})
    assert problems == [FieldProblem("endpoints", "lists 'api' more than once")]


@pytest.mark.parametrize(
    ("credentials", "field", "message"),
    [
        ({"Api-Key": SECRET}, "credentials.Api-Key", "invalid key: String should match pattern"),
        ({"1key": SECRET}, "credentials.1key", "invalid key: String should match pattern"),
        ({"k" * 65: SECRET}, f"credentials.{'k' * 65}", "invalid key: String should match"),
        ({"api_key": ""}, "credentials.api_key", "must not be empty"),
        (
            {"api_key": SECRET * 400},
            "credentials.api_key",
            f"must be at most {MAX_CREDENTIAL_CHARS} characters long",
        ),
        ({"api_key": f"{SECRET}\x00"}, "credentials.api_key", "must not contain NUL characters"),
        ({"api_key": f"{SECRET}\ud800"}, "credentials.api_key", "must be valid Unicode"),
        ({"api_key": 12345}, "credentials.api_key", "Input should be a valid string"),
    ],
)
def test_integration_input_malformed_credentials_rejected(
    credentials: dict[str, object], field: str, message: str
) -> None:
    problems = _problems(IntegrationInput, {**_minimal(), "credentials": credentials})
    assert _fields(problems) == [field]
    assert problems[0].message.startswith(message)


def test_integration_input_credential_value_at_limit_accepted() -> None:
    value = "x" * MAX_CREDENTIAL_CHARS
    data = {**_minimal(), "credentials": {"pem": value}}
    assert IntegrationInput.model_validate(data).credentials["pem"].get_secret_value() == value


def test_integration_input_too_many_credentials_rejected() -> None:
    credentials = {f"key_{index}": SECRET for index in range(33)}
    problems = _problems(IntegrationInput, {**_minimal(), "credentials": credentials})
    assert _fields(problems) == ["credentials"]


@pytest.mark.parametrize(
    "data",
    [
        {"credentials": {"api_key": f"{SECRET}" * 400}},
        {"credentials": {"api_key": f"{SECRET}\x00"}},
        {"credentials": {"api_key": f"{SECRET}\ud800"}},
        {"credentials": {"BAD": SECRET, "ok": ""}},
        {"credentials": [SECRET]},
        {"credentials": {f"k{index}": SECRET for index in range(40)}},
        {"password": SECRET},
        {"name": "", "credentials": {"api_key": SECRET}, "schedule": {"cron": "bad"}},
    ],
)
def test_integration_input_credential_values_absent_from_error_text(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        IntegrationInput.model_validate({**_minimal(), **data}, context=ADAPTERS)
    texts = [str(caught.value), repr(caught.value)]
    texts += [
        f"{problem.field} {problem.message}" for problem in describe_validation_error(caught.value)
    ]
    for text in texts:
        assert "S3cret" not in text


def test_integration_input_repr_hides_credentials() -> None:
    data = {**_full(), "credentials": {"api_key": SECRET}}
    model = IntegrationInput.model_validate(data)
    for text in (repr(model), str(model), model.model_dump_json(), repr(model.model_dump())):
        assert SECRET not in text


def test_integration_config_rejects_credential_values() -> None:
    problems = _problems(IntegrationConfig, {**_minimal(), "credentials": {"api_key": SECRET}})
    assert problems == [FieldProblem("credentials", "unknown field")]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("tags",), ["a"]),
        (("schedule", "every"), "5m"),
        (("endpoints", 0, "headers"), {"X": "1"}),
        (("retry_policy", "jitter"), True),
        (("field_mapping", "customers", 0, "default"), ""),
    ],
)
def test_integration_extra_key_rejected_naming_it(
    path: tuple[str | int, ...], value: object
) -> None:
    data = _full()
    target: Any = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    problems = _problems(IntegrationConfig, data)
    assert problems == [FieldProblem(".".join(str(part) for part in path), "unknown field")]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x" * 101, "String should have at most 100 characters"),
        ("", "String should have at least 1 character"),
        ("   ", "must not be blank"),
        ("two\nlines", "must be a single line without control characters"),
    ],
)
def test_integration_name_bad_rejected(name: str, message: str) -> None:
    assert _problems(IntegrationConfig, {**_minimal(), "name": name}) == [
        FieldProblem("name", message)
    ]


def test_integration_description_oversize_rejected() -> None:
    problems = _problems(IntegrationConfig, {**_minimal(), "description": "x" * 2001})
    assert _fields(problems) == ["description"]


def test_integration_settings_oversize_rejected() -> None:
    settings = {"blob": "x" * MAX_SETTINGS_BYTES}
    problems = _problems(IntegrationConfig, {**_minimal(), "settings": settings})
    assert _fields(problems) == ["settings"]
    assert problems[0].message.startswith(f"must be at most {MAX_SETTINGS_BYTES} bytes as JSON")


def test_integration_settings_just_under_limit_accepted() -> None:
    settings = {"blob": "x" * (MAX_SETTINGS_BYTES - 20)}
    assert IntegrationConfig.model_validate({**_minimal(), "settings": settings}).settings


def test_integration_settings_counts_utf8_bytes() -> None:
    settings = {"blob": "é" * (MAX_SETTINGS_BYTES // 2)}
    assert _fields(_problems(IntegrationConfig, {**_minimal(), "settings": settings})) == [
        "settings"
    ]


def test_integration_settings_deep_nesting_rejected() -> None:
    deep: Any = 1
    for _ in range(20):
        deep = [deep]
    problems = _problems(IntegrationConfig, {**_minimal(), "settings": {"deep": deep}})
    assert problems[0].message.endswith("nests deeper than 16 levels")


def test_integration_settings_non_finite_number_rejected() -> None:
    problems = _problems(IntegrationConfig, {**_minimal(), "settings": {"x": float("nan")}})
    assert problems[0].field.startswith("settings.x")


Data = dict[str, Any]


def _set_name(data: Data, value: str) -> None:
    data["name"] = value


def _set_description(data: Data, value: str) -> None:
    data["description"] = value


def _set_settings_value(data: Data, value: str) -> None:
    data["settings"]["nested"]["note"] = value


def _set_settings_key(data: Data, value: str) -> None:
    data["settings"] = {value: 1}


def _set_source(data: Data, value: str) -> None:
    data["field_mapping"]["customers"][0]["source"] = value


def _set_url(data: Data, value: str) -> None:
    data["endpoints"][0]["url"] = value


def _set_credential(data: Data, value: str) -> None:
    data["credentials"] = {"api_key": value}


def _credential(model: IntegrationInput) -> str:
    return model.credentials["api_key"].get_secret_value()


def _settings_key(model: IntegrationInput) -> str:
    (key,) = model.settings
    return key


def _settings_value(model: IntegrationInput) -> object:
    nested = model.settings["nested"]
    assert isinstance(nested, dict)
    return nested["note"]


# Free-text fields: (set it in the input, read it back from the model, where errors point).
# Identifiers (id, adapter, entity, endpoint and credential names) have patterns instead.
TEXT_FIELDS: dict[
    str, tuple[Callable[[Data, str], None], Callable[[IntegrationInput], object], str]
]
TEXT_FIELDS = {
    "name": (_set_name, lambda model: model.name, "name"),
    "description": (_set_description, lambda model: model.description, "description"),
    "settings value": (_set_settings_value, _settings_value, "settings"),
    "settings key": (_set_settings_key, _settings_key, "settings"),
    "mapping source": (
        _set_source,
        lambda model: model.field_mapping["customers"][0].source,
        "field_mapping.customers.0.source",
    ),
    "endpoint url": (_set_url, lambda model: model.endpoints[0].url, "endpoints.0.url"),
    "credential value": (_set_credential, _credential, "credentials.api_key"),
}


@pytest.mark.parametrize("field", list(TEXT_FIELDS))
def test_integration_sql_metacharacters_accepted_unchanged(field: str) -> None:
    setter, getter, _ = TEXT_FIELDS[field]
    value = SQL_URL if field == "endpoint url" else SQL
    data = _full()
    setter(data, value)
    model = IntegrationInput.model_validate(data, context=ADAPTERS)
    assert getter(model) == value
    if field != "credential value":
        assert getter(IntegrationInput.model_validate_json(model.model_dump_json())) == value


@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b"], ids=["nul", "lone-surrogate"])
@pytest.mark.parametrize("field", list(TEXT_FIELDS))
def test_integration_unclean_text_rejected(field: str, bad: str) -> None:
    data = _full()
    setter, _, path = TEXT_FIELDS[field]
    setter(data, bad)
    problems = _problems(IntegrationInput, data)
    assert len(problems) == 1
    assert problems[0].field.startswith(path)
    assert "NUL" in problems[0].message or "lone surrogate" in problems[0].message


def test_integration_lone_surrogate_in_json_body_rejected() -> None:
    body = json.dumps(_minimal()).replace('"Demo"', '"\\ud800"')
    with pytest.raises(ValidationError):
        IntegrationConfig.model_validate_json(body)
    with pytest.raises(ValidationError):
        IntegrationConfig.model_validate(json.loads(body))


@pytest.mark.parametrize("value", ["xentral-main", "a", "0f8fad5b-d9cb-469f-a165-70867728950e"])
def test_integration_id_valid_accepted(value: str) -> None:
    assert IntegrationConfig.model_validate({**_minimal(), "id": value}).id == value


@pytest.mark.parametrize("value", ["", "Xentral", "-a", "a b", "abc\n", "a" * 64, SQL])
def test_integration_id_invalid_rejected(value: str) -> None:
    assert _fields(_problems(IntegrationConfig, {**_minimal(), "id": value})) == ["id"]


def test_integration_id_reserved_by_the_dashboard_refused_naming_the_field() -> None:
    problems = _problems(IntegrationInput, {**_minimal(), "id": "new"})
    assert problems == [
        FieldProblem(
            "id", "'new' is reserved (the dashboard's /integrations/new page); choose another id"
        )
    ]
    assert IntegrationInput.model_validate({**_minimal(), "id": "new-shop"}).id == "new-shop"


def test_integration_id_reserved_later_still_loads_as_stored() -> None:
    """An integration stored before its id was reserved can still be listed and deleted."""
    assert IntegrationConfig.model_validate({**_minimal(), "id": "new"}).id == "new"


def test_integration_entities_duplicate_rejected() -> None:
    problems = _problems(IntegrationConfig, {**_minimal(), "entities": ["a", "b", "a"]})
    assert problems == [FieldProblem("entities", "lists 'a' more than once")]


def test_integration_field_mapping_unknown_entity_rejected() -> None:
    data = _full()
    data["field_mapping"]["orders"] = []
    problems = _problems(IntegrationConfig, data)
    assert problems == [
        FieldProblem("field_mapping", "maps entity 'orders', which is not in entities")
    ]


def test_integration_field_mapping_duplicate_target_rejected() -> None:
    data = _full()
    data["field_mapping"]["customers"][1]["target"] = "city"
    problems = _problems(IntegrationConfig, data)
    assert problems == [
        FieldProblem("field_mapping", "'customers' target lists 'city' more than once")
    ]


@pytest.mark.parametrize("source", ["", "a..b", ".a", "a.", "a" * 257, "a." * 32 + "a"])
def test_integration_field_mapping_bad_source_rejected(source: str) -> None:
    data = _full()
    data["field_mapping"]["customers"][0]["source"] = source
    assert _fields(_problems(IntegrationConfig, data)) == ["field_mapping.customers.0.source"]


@pytest.mark.parametrize(
    ("part", "value", "field"),
    [
        ("rate_limits", {"rate": 0}, "rate_limits.rate"),
        ("rate_limits", {"rate": float("inf")}, "rate_limits.rate"),
        ("rate_limits", {"rate": 1, "period": 0}, "rate_limits.period"),
        ("rate_limits", {"rate": 1, "burst": 0}, "rate_limits.burst"),
        ("retry_policy", {"max_attempts": 0}, "retry_policy.max_attempts"),
        ("retry_policy", {"max_attempts": 21}, "retry_policy.max_attempts"),
        ("retry_policy", {"initial_backoff": 10, "max_backoff": 5}, "retry_policy.max_backoff"),
        ("retry_policy", {"retry_on_status": [200, 99]}, "retry_policy.retry_on_status.1"),
        ("retry_policy", {"retry_on_status": [500, 500]}, "retry_policy.retry_on_status"),
        ("health", {"interval": 0}, "health.interval"),
        ("health", {"interval": 5, "timeout": 10}, "health.timeout"),
        ("health", {"failure_threshold": 0}, "health.failure_threshold"),
        ("schedule", {"jitter_seconds": -1}, "schedule.jitter_seconds"),
        ("webhook", {"scheme": "paypal"}, "webhook.scheme"),
        ("webhook", {"tolerance_seconds": 0}, "webhook.tolerance_seconds"),
        ("conflict_policy", "random", "conflict_policy"),
        ("type", "FTP", "type"),
    ],
)
def test_integration_part_out_of_bounds_names_field(part: str, value: object, field: str) -> None:
    problems = _problems(IntegrationConfig, {**_minimal(), part: value})
    assert _fields(problems) == [field]


def test_describe_validation_error_bad_key_path_is_printable() -> None:
    data = {**_minimal(), "credentials": {"bad\x00\ud800key": SECRET}}
    (problem,) = _problems(IntegrationInput, data)
    assert problem.field.startswith("credentials.bad\\x00")
    assert problem.field.isprintable()


def test_describe_validation_error_not_a_mapping_names_whole_input() -> None:
    (problem,) = _problems(IntegrationConfig, [1, 2])
    assert problem.field == ""


def test_integration_json_schema_marks_credentials_write_only() -> None:
    schema = IntegrationInput.model_json_schema()
    (credential,) = schema["properties"]["credentials"]["patternProperties"].values()
    assert credential["writeOnly"] is True
    assert "credentials" not in IntegrationConfig.model_json_schema()["properties"]


def test_integration_field_mapping_too_many_fields_rejected() -> None:
    data = _full()
    data["field_mapping"]["customers"] = [
        {"source": f"f{index}", "target": f"f{index}"} for index in range(501)
    ]
    assert _fields(_problems(IntegrationConfig, data)) == ["field_mapping.customers"]
