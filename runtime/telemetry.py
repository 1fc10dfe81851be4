"""Tracing set-up from the standard `OTEL_*` variables, and W3C trace context helpers.

Why our own reading of the variables rather than the SDK's auto-configuration: settings are
read once and passed down (the composition root hands us its environment mapping), so a test
can configure tracing without touching `os.environ`, and a bad value is one clear
`TelemetryConfigError` at start-up rather than a warning in a log. The decision is plain data
(`plan_tracing`), built into a provider by `configure_tracing`; the caller decides whether to
make it global, and ends it with `shutdown_tracing` (which flushes without blocking the loop).

Exporters: OTLP over HTTP/protobuf when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces-only
variant) is set, `console` or `none` when `OTEL_TRACES_EXPORTER` says so, otherwise none;
with none, spans are not recorded (sampler off) but still carry a valid trace context. The
OTLP exporter is the separate package `opentelemetry-exporter-otlp-proto-http`, imported only
when asked for. The trace context travels as a W3C `traceparent` (in NATS headers and in each
event); `current_traceparent` and `context_from_traceparent` convert both ways.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import IO, cast
from urllib.parse import unquote

import anyio
from opentelemetry.context import Context
from opentelemetry.sdk.resources import (
    SERVICE_NAME,
    TELEMETRY_SDK_LANGUAGE,
    TELEMETRY_SDK_NAME,
    TELEMETRY_SDK_VERSION,
    Resource,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    ParentBasedTraceIdRatio,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.sdk.version import __version__ as sdk_version
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

OTLP_PACKAGE = "opentelemetry-exporter-otlp-proto-http"
_OTLP_MODULE = "opentelemetry.exporter.otlp.proto.http.trace_exporter"
_DEFAULT_OTLP_ENDPOINT = "http://localhost:4318/v1/traces"
_DEFAULT_OTLP_TIMEOUT_MS = 10_000
_PROPAGATOR = TraceContextTextMapPropagator()

_SAMPLERS: dict[str, Callable[[float], Sampler]] = {
    "always_on": lambda _: ALWAYS_ON,
    "always_off": lambda _: ALWAYS_OFF,
    "traceidratio": TraceIdRatioBased,
    "parentbased_always_on": lambda _: ParentBased(ALWAYS_ON),
    "parentbased_always_off": lambda _: ParentBased(ALWAYS_OFF),
    "parentbased_traceidratio": ParentBasedTraceIdRatio,
}


class TelemetryConfigError(Exception):
    """An `OTEL_*` value we cannot use, or a missing exporter package; names which."""


class Exporter(StrEnum):
    OTLP = "otlp"
    CONSOLE = "console"


@dataclass(frozen=True, slots=True)
class OtlpSettings:
    endpoint: str  # the full traces URL
    headers: tuple[tuple[str, str], ...] = field(repr=False)  # often carry an API key
    timeout: float  # seconds


@dataclass(frozen=True, slots=True)
class TracingPlan:
    service_name: str
    resource_attributes: tuple[tuple[str, str], ...]
    exporters: tuple[Exporter, ...]
    sampler: str
    sampler_ratio: float
    otlp: OtlpSettings | None
    disabled: bool = False


def plan_tracing(env: Mapping[str, str], *, service_name: str = "integration-hub") -> TracingPlan:
    """What `configure_tracing` would build from `env`, as data; `TelemetryConfigError` if bad."""
    attributes = dict(_pairs(env.get("OTEL_RESOURCE_ATTRIBUTES", ""), "OTEL_RESOURCE_ATTRIBUTES"))
    name = env.get("OTEL_SERVICE_NAME") or attributes.pop(SERVICE_NAME, None) or service_name
    attributes.pop(SERVICE_NAME, None)
    exporters = _exporters(env)
    sampler = env.get("OTEL_TRACES_SAMPLER", "parentbased_always_on").strip().lower()
    if sampler not in _SAMPLERS:
        raise TelemetryConfigError(
            f"OTEL_TRACES_SAMPLER={sampler!r} is not one of: {', '.join(_SAMPLERS)}"
        )
    return TracingPlan(
        service_name=name,
        resource_attributes=tuple(sorted(attributes.items())),
        exporters=exporters,
        sampler=sampler,
        sampler_ratio=_ratio(env.get("OTEL_TRACES_SAMPLER_ARG")),
        otlp=_otlp_settings(env) if Exporter.OTLP in exporters else None,
        disabled=env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true",
    )


def configure_tracing(
    env: Mapping[str, str],
    *,
    service_name: str = "integration-hub",
    console: IO[str] | None = None,
) -> TracerProvider:
    """A tracer provider built from the `OTEL_*` variables in `env` (not set as global).

    The console exporter writes to `console` (default: standard output). End the provider
    with `shutdown_tracing` so buffered spans are exported."""
    plan = plan_tracing(env, service_name=service_name)
    resource = Resource(
        {
            TELEMETRY_SDK_LANGUAGE: "python",
            TELEMETRY_SDK_NAME: "opentelemetry",
            TELEMETRY_SDK_VERSION: sdk_version,
            **dict(plan.resource_attributes),
            SERVICE_NAME: plan.service_name,
        }
    )
    # With nowhere to export, recording spans is pure cost (~40 µs a span on the relay's path);
    # unsampled spans still carry a valid trace context into events and NATS headers.
    unused = plan.disabled or not plan.exporters
    sampler = ALWAYS_OFF if unused else _SAMPLERS[plan.sampler](plan.sampler_ratio)
    provider = TracerProvider(sampler=sampler, resource=resource, shutdown_on_exit=False)
    if plan.disabled:
        return provider
    for exporter in plan.exporters:
        if exporter is Exporter.CONSOLE:
            exporter_out = console if console is not None else sys.stdout
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=exporter_out)))
        elif plan.otlp is not None:
            provider.add_span_processor(BatchSpanProcessor(_otlp_exporter(plan.otlp)))
    return provider


async def shutdown_tracing(provider: TracerProvider) -> None:
    """Flush and stop `provider`'s exporters in a worker thread (export is blocking I/O)."""
    await anyio.to_thread.run_sync(provider.shutdown)


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the current span, or None outside a (valid) span."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def context_from_traceparent(traceparent: str | None) -> Context:
    """A context whose parent is the span `traceparent` names; empty when None or invalid."""
    if not traceparent:
        return Context()
    return _PROPAGATOR.extract({"traceparent": traceparent}, context=Context())


def _exporters(env: Mapping[str, str]) -> tuple[Exporter, ...]:
    raw = env.get("OTEL_TRACES_EXPORTER")
    if raw is None:
        has_endpoint = any(
            env.get(key)
            for key in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        )
        return (Exporter.OTLP,) if has_endpoint else ()
    chosen: list[Exporter] = []
    for item in (part.strip().lower() for part in raw.split(",")):
        if item in ("", "none"):
            continue
        try:
            chosen.append(Exporter(item))
        except ValueError:
            raise TelemetryConfigError(
                f"OTEL_TRACES_EXPORTER={raw!r}: {item!r} is not one of otlp, console, none"
            ) from None
    return tuple(dict.fromkeys(chosen))


def _otlp_settings(env: Mapping[str, str]) -> OtlpSettings:
    protocol = (_traces_or_general(env, "PROTOCOL") or "http/protobuf").strip().lower()
    if protocol != "http/protobuf":
        raise TelemetryConfigError(
            f"OTLP protocol {protocol!r} is not supported; use http/protobuf "
            "(OTEL_EXPORTER_OTLP_PROTOCOL)"
        )
    if traces_endpoint := env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        endpoint = traces_endpoint
    elif base := env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        endpoint = base.rstrip("/") + "/v1/traces"
    else:
        endpoint = _DEFAULT_OTLP_ENDPOINT
    if not endpoint.startswith(("http://", "https://")):
        raise TelemetryConfigError(f"OTLP endpoint {endpoint!r} must be an http(s) URL")
    headers_key = (
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
        if "OTEL_EXPORTER_OTLP_TRACES_HEADERS" in env
        else "OTEL_EXPORTER_OTLP_HEADERS"
    )
    timeout_ms = _traces_or_general(env, "TIMEOUT") or str(_DEFAULT_OTLP_TIMEOUT_MS)
    try:
        timeout = float(timeout_ms) / 1000
    except ValueError:
        raise TelemetryConfigError(
            f"OTLP timeout {timeout_ms!r} is not a number of milliseconds"
        ) from None
    return OtlpSettings(
        endpoint=endpoint,
        headers=_pairs(env.get(headers_key, ""), headers_key),
        timeout=timeout,
    )


def _otlp_exporter(settings: OtlpSettings) -> SpanExporter:
    try:
        module = importlib.import_module(_OTLP_MODULE)
    except ImportError:
        raise TelemetryConfigError(
            f"exporting traces over OTLP needs the package {OTLP_PACKAGE} "
            f"(pip install {OTLP_PACKAGE}), or set OTEL_TRACES_EXPORTER=none"
        ) from None
    factory = cast(Callable[..., SpanExporter], module.OTLPSpanExporter)
    return factory(
        endpoint=settings.endpoint, headers=dict(settings.headers), timeout=settings.timeout
    )


def _traces_or_general(env: Mapping[str, str], suffix: str) -> str | None:
    return env.get(f"OTEL_EXPORTER_OTLP_TRACES_{suffix}") or env.get(f"OTEL_EXPORTER_OTLP_{suffix}")


def _pairs(raw: str, variable: str) -> tuple[tuple[str, str], ...]:
    """`key=value,key=value` with percent-encoded values (W3C Baggage style), as the spec says."""
    pairs: list[tuple[str, str]] = []
    for item in raw.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise TelemetryConfigError(f"{variable}: {item.strip()!r} is not key=value")
        pairs.append((key.strip(), unquote(value.strip())))
    return tuple(pairs)


def _ratio(raw: str | None) -> float:
    if raw is None or not raw.strip():
        return 1.0
    try:
        ratio = float(raw)
    except ValueError:
        ratio = -1.0
    if not 0.0 <= ratio <= 1.0:
        raise TelemetryConfigError(f"OTEL_TRACES_SAMPLER_ARG={raw!r} is not a ratio in [0, 1]")
    return ratio
