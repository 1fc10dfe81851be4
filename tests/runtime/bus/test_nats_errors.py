"""The one place a `nats` exception is looked at: each becomes a `BusError` (no socket needed)."""

from __future__ import annotations

import nats.errors
import nats.js.errors
import pytest

from runtime.bus import BusError, BusUnavailable
from runtime.bus._nats import _translate_error

WHERE = "127.0.0.1:4222"


@pytest.mark.parametrize(
    ("error", "why"),
    [
        (nats.errors.TimeoutError(), "no answer in time"),
        (TimeoutError(), "no answer in time"),
        (nats.js.errors.NoStreamResponseError(), "no JetStream stream answers"),
        (nats.errors.NoRespondersError(), "JetStream does not answer"),
        (nats.errors.ConnectionClosedError(), "ConnectionClosedError"),
        (nats.errors.ConnectionReconnectingError(), "ConnectionReconnectingError"),
        (nats.errors.OutboundBufferLimitError(), "OutboundBufferLimitError"),
        (nats.errors.StaleConnectionError(), "StaleConnectionError"),
        (ConnectionRefusedError(111, "refused"), "ConnectionRefusedError"),
        (nats.js.errors.ServiceUnavailableError(code=503, description="busy"), "busy"),
    ],
)
def test_nats_error_worth_retrying_becomes_bus_unavailable(error: Exception, why: str) -> None:
    translated = _translate_error("publish", error, WHERE)
    assert isinstance(translated, BusUnavailable)
    assert str(translated).startswith(f"publish: NATS at {WHERE}: ")
    assert why in str(translated)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            nats.js.errors.BadRequestError(code=400, err_code=10052, description="cannot change"),
            "publish: NATS refused: cannot change (code 10052)",
        ),
        (nats.errors.MaxPayloadError(), "publish: NATS at 127.0.0.1:4222: MaxPayloadError"),
        (nats.errors.BadSubjectError(), "publish: NATS at 127.0.0.1:4222: BadSubjectError"),
    ],
)
def test_nats_error_retrying_cannot_fix_becomes_bus_error(error: Exception, message: str) -> None:
    translated = _translate_error("publish", error, WHERE)
    assert type(translated) is BusError
    assert str(translated).startswith(message)
