"""Fixtures of the adapter tests: captured spans, and a scripted HTTP transport."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import anyio.lowlevel
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from adapters import HttpRequest, HttpResponse
from runtime import Clock


@dataclass
class Spans:
    """A tracer provider of the test's own (never the global one) and what it exported."""

    provider: TracerProvider
    exporter: InMemorySpanExporter

    def finished(self) -> tuple[ReadableSpan, ...]:
        return tuple(self.exporter.get_finished_spans())

    def texts(self) -> list[str]:
        """Everything a span shows: names, attribute keys and values, events, status."""
        shown: list[str] = []
        for span in self.finished():
            shown += [span.name, span.status.description or ""]
            for key, value in (span.attributes or {}).items():
                shown += [key, str(value)]
            for event in span.events:
                shown += [event.name, str(dict(event.attributes or {}))]
        return shown


@pytest.fixture
def spans() -> Iterator[Spans]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield Spans(provider, exporter)
    provider.shutdown()


def response(
    status: int = 200, body: bytes = b"", headers: Mapping[str, str] | None = None
) -> HttpResponse:
    return HttpResponse(status, dict(headers or {}), body)


@dataclass
class Script:
    """A fake transport: answers with `outcomes` in order (raising the exceptions among them)
    and records each request with the clock time it arrived."""

    clock: Clock
    outcomes: list[HttpResponse | BaseException]
    requests: list[tuple[float, HttpRequest]] = field(default_factory=list)

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        self.requests.append((self.clock.now(), request))
        await anyio.lowlevel.checkpoint()
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def times(self) -> list[float]:
        return [at for at, _ in self.requests]
