"""Every operation is a trace: connect, health check and each entity's sync are spans, and
the events a sync writes carry its trace context."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from api._hub import running_hub
from api._services import open_services
from config import load_settings
from runtime.testing import wait_for


def _names(exporter: InMemorySpanExporter) -> list[str]:
    return [span.name for span in exporter.get_finished_spans()]


async def test_sync_connect_and_health_are_spans_and_events_carry_the_trace(
    tmp_path: Path,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = load_settings(env={"HUB_DATA_DIR": str(tmp_path / "data")})
    async with (
        open_services(settings) as services,
        running_hub(services, tracer_provider=provider) as hub,
    ):
        await wait_for(
            lambda: {"sync customers", "sync invoices"} <= set(_names(exporter)),
            timeout=30,
            what="both entities' sync spans",
        )
        events = await hub.services.store.events_after(None, 500)
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert spans["connect"].attributes is not None
    assert spans["connect"].attributes["integration.id"] == "demo"
    assert "health_check" in spans
    sync = spans["sync customers"]
    assert sync.attributes is not None
    assert sync.attributes["sync.entity"] == "customers"
    batches = [dict(e.attributes or {}) for e in sync.events if e.name == "batch"]
    added = sync.attributes["sync.records.added"]
    assert isinstance(added, int)
    assert added > 0
    assert added == sum(int(str(batch["added"])) for batch in batches)
    assert sync.events
    assert sync.events[0].name == "batch"
    trace_id = f"{sync.context.trace_id:032x}"
    completed = [
        e
        for e in events
        if e.type.endswith("sync_completed") and e.data.get("entity") == "customers"
    ]
    assert completed
    assert completed[0].traceparent is not None
    assert completed[0].traceparent.split("-")[1] == trace_id
    assert any(name.startswith("publish ") for name in _names(exporter))
