"""`runtime.telemetry`: the tracing plan from `OTEL_*` values, the provider, W3C trace context.

(Here rather than beside `runtime/telemetry.py`'s other tests because the bus is its first
user: the relay's publish span and the `traceparent` in NATS headers and events.)
"""

from __future__ import annotations

import io
import json
import sys

import pytest
from opentelemetry.sdk.trace import TracerProvider

from runtime.telemetry import (
    OTLP_PACKAGE,
    Exporter,
    OtlpSettings,
    TelemetryConfigError,
    configure_tracing,
    context_from_traceparent,
    current_traceparent,
    plan_tracing,
    shutdown_tracing,
)

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
OTLP_MODULE = "opentelemetry.exporter.otlp.proto.http.trace_exporter"


def test_telemetry_plan_without_endpoint_exports_nothing() -> None:
    plan = plan_tracing({})
    assert (plan.exporters, plan.otlp, plan.service_name) == ((), None, "integration-hub")
    assert plan.sampler == "parentbased_always_on"


@pytest.mark.parametrize(
    ("env", "endpoint"),
    [
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
            "http://collector:4318/v1/traces",
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c.example/otlp/"},
            "https://c.example/otlp/v1/traces",
        ),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://ignored:4318",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:4318/custom",
            },
            "http://traces:4318/custom",
        ),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, "http://localhost:4318/v1/traces"),
    ],
)
def test_telemetry_plan_endpoint_set_exports_otlp(env: dict[str, str], endpoint: str) -> None:
    plan = plan_tracing(env)
    assert plan.exporters == (Exporter.OTLP,)
    assert plan.otlp == OtlpSettings(endpoint=endpoint, headers=(), timeout=10.0)


def test_telemetry_plan_otlp_headers_are_decoded_and_kept_out_of_repr() -> None:
    plan = plan_tracing(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
            "OTEL_EXPORTER_OTLP_HEADERS": "api-key=s3cr%3Dt, x-team = hub",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
        }
    )
    assert plan.otlp is not None
    assert plan.otlp.headers == (("api-key", "s3cr=t"), ("x-team", "hub"))
    assert plan.otlp.timeout == 2.5
    assert "s3cr" not in repr(plan)


@pytest.mark.parametrize(
    ("value", "exporters"),
    [
        ("console", (Exporter.CONSOLE,)),
        ("none", ()),
        ("console,otlp", (Exporter.CONSOLE, Exporter.OTLP)),
        (" OTLP , otlp ", (Exporter.OTLP,)),
    ],
)
def test_telemetry_plan_traces_exporter_chooses(value: str, exporters: tuple[Exporter]) -> None:
    env = {"OTEL_TRACES_EXPORTER": value, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}
    assert plan_tracing(env).exporters == exporters


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OTEL_TRACES_EXPORTER": "jaeger"}, "'jaeger' is not one of otlp, console, none"),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "use http/protobuf",
        ),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "must be an http(s) URL"),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_TIMEOUT": "soon"},
            "milliseconds",
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_HEADERS": "novalue"},
            "key=value",
        ),
        ({"OTEL_TRACES_SAMPLER": "sometimes"}, "OTEL_TRACES_SAMPLER='sometimes' is not one of"),
        ({"OTEL_TRACES_SAMPLER_ARG": "2"}, "not a ratio in [0, 1]"),
        ({"OTEL_RESOURCE_ATTRIBUTES": "team"}, "OTEL_RESOURCE_ATTRIBUTES: 'team' is not key=value"),
    ],
)
def test_telemetry_plan_bad_value_is_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(TelemetryConfigError) as caught:
        plan_tracing(env)
    assert message in str(caught.value)


def test_telemetry_plan_service_name_env_wins_over_attributes_and_default() -> None:
    attributes = {"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs,deployment.environment=prod"}
    assert plan_tracing(attributes).service_name == "from-attrs"
    assert plan_tracing({**attributes, "OTEL_SERVICE_NAME": "hub-eu"}).service_name == "hub-eu"
    assert plan_tracing({}, service_name="worker").service_name == "worker"
    assert plan_tracing(attributes).resource_attributes == (("deployment.environment", "prod"),)


def test_telemetry_configure_otlp_without_the_package_says_which_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, OTLP_MODULE, None)
    with pytest.raises(TelemetryConfigError, match=f"needs the package {OTLP_PACKAGE}"):
        configure_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})


async def test_telemetry_configure_console_exports_finished_spans() -> None:
    out = io.StringIO()
    provider = configure_tracing(
        {"OTEL_TRACES_EXPORTER": "console", "OTEL_RESOURCE_ATTRIBUTES": "team=integrations"},
        console=out,
    )
    with provider.get_tracer("test").start_as_current_span("sync demo"):
        pass
    await shutdown_tracing(provider)
    span = json.loads(out.getvalue())
    assert span["name"] == "sync demo"
    assert span["resource"]["attributes"]["service.name"] == "integration-hub"
    assert span["resource"]["attributes"]["team"] == "integrations"


def test_telemetry_configure_returns_a_provider_without_setting_it_global() -> None:
    provider = configure_tracing({"OTEL_TRACES_EXPORTER": "console"}, console=io.StringIO())
    assert isinstance(provider, TracerProvider)
    with provider.get_tracer("test").start_as_current_span("kept") as span:
        assert span.is_recording()
        assert current_traceparent() is not None
    provider.shutdown()


def test_telemetry_without_exporter_records_nothing_but_keeps_the_context() -> None:
    provider = configure_tracing({})
    with provider.get_tracer("test").start_as_current_span("unexported") as span:
        assert not span.is_recording()
        assert span.get_span_context().is_valid
        assert current_traceparent() is not None
    provider.shutdown()


@pytest.mark.parametrize(
    "env", [{"OTEL_SDK_DISABLED": "true"}, {"OTEL_TRACES_SAMPLER": "always_off"}]
)
def test_telemetry_disabled_or_always_off_records_nothing(env: dict[str, str]) -> None:
    provider = configure_tracing(env)
    with provider.get_tracer("test").start_as_current_span("dropped") as span:
        assert not span.is_recording()
    provider.shutdown()


def test_current_traceparent_outside_a_span_is_none() -> None:
    assert current_traceparent() is None


def test_current_traceparent_names_the_current_span() -> None:
    provider = TracerProvider()
    with provider.get_tracer("test").start_as_current_span("op") as span:
        context = span.get_span_context()
        flags = int(context.trace_flags)
        expected = f"00-{context.trace_id:032x}-{context.span_id:016x}-{flags:02x}"
        assert current_traceparent() == expected
    provider.shutdown()


def test_context_from_traceparent_parents_a_new_span() -> None:
    provider = TracerProvider()
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("child", context=context_from_traceparent(TRACEPARENT)):
        assert current_traceparent() is not None
        trace_id = current_traceparent().split("-")[1]  # type: ignore[union-attr]  # checked above
    assert trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    provider.shutdown()


@pytest.mark.parametrize(
    "traceparent", [None, "", "garbage", "00-" + "0" * 32 + "-" + "1" * 16 + "-01"]
)
def test_context_from_traceparent_invalid_gives_an_empty_context(traceparent: str | None) -> None:
    provider = TracerProvider()
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span(
        "root", context=context_from_traceparent(traceparent)
    ) as span:
        assert span.parent is None  # type: ignore[attr-defined]  # an SDK span
    provider.shutdown()
