"""The webhook benchmark's own parts, briefly, without PostgreSQL: the load it sends is what
the hub verifies, and its smallest run against the bare handler completes with no error."""

from __future__ import annotations

import time

from multidict import CIMultiDict

from adapters import WebhookVerifier
from benchmarks.webhooks import SECRET, _load, _request, bare_app
from config import WebhookScheme
from runtime.testing import serving_locally


def test_benchmark_request_is_a_delivery_the_hub_verifies() -> None:
    verifier = WebhookVerifier.from_secret(WebhookScheme.STANDARD, SECRET)
    raw = _request("127.0.0.1", 8080, 7, "t", verifier.key)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines[1:]:
        name, _, value = line.partition(": ")
        headers.add(name, value)

    verified = verifier.verify(headers, body, now=time.time())

    assert lines[0] == "POST /webhooks/bench HTTP/1.1"
    assert int(headers["Content-Length"]) == len(body)
    assert verified.delivery_id == "msg_t_7"


async def test_benchmark_smallest_run_against_the_bare_handler_has_no_errors() -> None:
    async with serving_locally(bare_app(64 * 1024)) as base_url:
        host, _, port = base_url.removeprefix("http://").partition(":")
        command = {
            "host": host,
            "port": int(port),
            "prefix": "smoke",
            "connections": 2,
            "seconds": 0.3,
            "warmup": 0.05,
        }

        found = await _load(command)

    assert found["ok"] > 10
    assert found["answered"] >= found["ok"]  # warm-up included
    assert found["failed"] == 0
    assert 0 < found["p50_ms"] <= found["p99_ms"]
