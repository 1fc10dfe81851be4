"""The store contract for webhook deliveries, on both backends: group commit with dedupe,
lookup and listing, retry claims and replay, and settling attempts (records and events in the
same transaction)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from runtime.store import (
    Conflict,
    InvalidValue,
    NotFound,
    RecordEvents,
    RecordIn,
    RetentionCutoffs,
    RunKind,
    RunStatus,
    Store,
    WebhookIn,
    WebhookOutcome,
    WebhookRecords,
    WebhookStatus,
)
from tests.runtime.store.helpers import START, ManualNow, audit, event, integration

PROCESSED, FAILED, DEAD = WebhookStatus.PROCESSED, WebhookStatus.FAILED, WebhookStatus.DEAD
RECORD_CHANGED = "hub.integration.record_changed"
RECEIVED = "hub.integration.sync_started"  # what tests.runtime.store.helpers.event names
STAMP = RecordEvents(time=START, traceparent=None)


async def _integrations(store: Store, *ids: str) -> None:
    for integration_id in ids or ("int-1",):
        await store.create_integration(
            integration(integration_id), {}, audit(target=integration_id)
        )


def _delivery(
    n: int, integration_id: str = "int-1", *, due_at: datetime | None = None
) -> WebhookIn:
    return WebhookIn(
        f"w{n}", integration_id, f"msg_{n}", {"webhook-id": f"msg_{n}"}, b'{"n":%d}' % n, due_at
    )


def _processed(n: int, *parts: WebhookRecords, attempts: int = 1) -> WebhookOutcome:
    return WebhookOutcome(
        f"w{n}", "int-1", PROCESSED, attempts, records=parts, events=(event(f"received-{n}"),)
    )


def _customer(key: str, version: int) -> RecordIn:
    return RecordIn(key, {"name": f"Customer {key}", "version": version})


async def _records(store: Store, *, include_deleted: bool = False) -> dict[str, object]:
    page = await store.list_records(
        "int-1", "customers", limit=100, include_deleted=include_deleted
    )
    return {r.external_id: None if r.deleted_at else r.data.get("version") for r in page.items}


async def _event_types(store: Store) -> list[tuple[str, object]]:
    return [
        (e.type, e.data.get("external_id") or e.data.get("event"))
        for e in await store.events_after(None, 100)
    ]


# -- group commit ------------------------------------------------------------------------


async def test_save_webhook_deliveries_dedupes_each_item_against_stored_and_batch(
    store: Store,
) -> None:
    await _integrations(store, "int-1", "int-2")
    assert await store.save_webhook_deliveries([_delivery(1)]) == [True]

    again = WebhookIn("w9", "int-1", "msg_1", {}, b"again")
    twice = WebhookIn("w8", "int-1", "msg_2", {}, b"second copy")
    elsewhere = WebhookIn("w7", "int-2", "msg_1", {}, b"x")  # another integration's: new
    saved = await store.save_webhook_deliveries(
        [again, _delivery(2), twice, elsewhere, _delivery(3)]
    )

    assert saved == [False, True, False, True, True]
    assert (await store.get_webhook_delivery("int-1", "msg_1")).body == b'{"n":1}'
    assert (await store.get_webhook_delivery("int-1", "msg_2")).body == b'{"n":2}'
    assert (await store.get_webhook_delivery("int-2", "msg_1")).id == "w7"


async def test_save_webhook_deliveries_with_an_unknown_integration_saves_nothing(
    store: Store,
) -> None:
    await _integrations(store)

    with pytest.raises(NotFound):
        await store.save_webhook_deliveries([_delivery(1), _delivery(2, "ghost")])

    assert await store.save_webhook_deliveries([]) == []
    assert (await store.list_webhook_deliveries("int-1", limit=10)).items == ()


async def test_saved_delivery_keeps_headers_body_and_due_time(store: Store, now: ManualNow) -> None:
    await _integrations(store)
    later = START + timedelta(seconds=60)

    await store.save_webhook_deliveries([_delivery(1, due_at=later), _delivery(2)])

    first = await store.get_webhook_delivery("int-1", "msg_1")
    second = await store.get_webhook_delivery("int-1", "msg_2")
    assert (first.id, first.headers, first.body, first.status, first.attempts) == (
        "w1", {"webhook-id": "msg_1"}, b'{"n":1}', WebhookStatus.RECEIVED, 0
    )  # fmt: skip
    assert (first.received_at, first.next_attempt_at) == (now(), later)
    assert second.next_attempt_at == now()
    with pytest.raises(NotFound):
        await store.get_webhook_delivery("int-1", "msg_404")


async def test_saved_delivery_keeps_any_body_bytes_and_header_text_exactly(store: Store) -> None:
    await _integrations(store)
    body = bytes(range(256)) * 3
    headers = {"x-quote": 'a "b" \\ c', "x-unicode": "Grüße ✓ \u2028", "x-empty": ""}

    saved = await store.save_webhook_deliveries(
        [
            WebhookIn("w1", "int-1", 'msg "1" \\ ü', headers, body),
            WebhookIn("w2", "int-1", "e", {}, b""),
        ]
    )

    assert saved == [True, True]
    found = await store.get_webhook_delivery("int-1", 'msg "1" \\ ü')
    assert (found.body, found.headers) == (body, headers)
    assert (await store.get_webhook_delivery("int-1", "e")).body == b""
    with pytest.raises(InvalidValue):
        await store.save_webhook_deliveries([WebhookIn("w3", "int-1", "m", {"x": "a\x00b"}, b"")])


# -- listing -----------------------------------------------------------------------------


async def test_list_webhook_deliveries_newest_first_in_pages_with_a_status_filter(
    store: Store,
) -> None:
    await _integrations(store, "int-1", "int-2")
    await store.save_webhook_deliveries([_delivery(n) for n in range(5)])
    await store.save_webhook_deliveries([_delivery(9, "int-2")])
    await store.settle_webhook_deliveries([_processed(1), _processed(3)])

    first = await store.list_webhook_deliveries("int-1", limit=2)
    second = await store.list_webhook_deliveries("int-1", limit=2, before=first.next_cursor)
    third = await store.list_webhook_deliveries("int-1", limit=2, before=second.next_cursor)
    done = await store.list_webhook_deliveries("int-1", status=PROCESSED, limit=10)

    assert [d.id for d in first.items + second.items + third.items] == [
        "w4", "w3", "w2", "w1", "w0"
    ]  # fmt: skip
    assert third.next_cursor is None
    assert [d.id for d in done.items] == ["w3", "w1"]
    assert (await store.list_webhook_deliveries("ghost", limit=5)).items == ()


# -- retries: marks, claims, replay --------------------------------------------------------


async def test_claim_takes_due_deliveries_oldest_first_and_leases_them(
    store: Store, now: ManualNow
) -> None:
    await _integrations(store)
    await store.save_webhook_deliveries([_delivery(0), _delivery(1)])
    now.advance(1)
    await store.save_webhook_deliveries([_delivery(2, due_at=now() + timedelta(seconds=30))])
    lease = now() + timedelta(seconds=60)

    claimed = await store.claim_webhook_deliveries(now=now(), lease_until=lease, limit=10)
    again = await store.claim_webhook_deliveries(now=now(), lease_until=lease, limit=10)
    later = now() + timedelta(seconds=31)
    fresh = await store.claim_webhook_deliveries(now=later, lease_until=lease, limit=1)

    assert [d.id for d in claimed] == ["w0", "w1"]
    assert {d.next_attempt_at for d in claimed} == {lease}
    assert again == []
    assert [d.id for d in fresh] == ["w2"]


async def test_mark_failed_makes_a_delivery_due_again_at_its_next_attempt(
    store: Store, now: ManualNow
) -> None:
    await _integrations(store)
    await store.save_webhook_deliveries([_delivery(0), _delivery(1)])
    retry_at = now() + timedelta(seconds=10)

    await store.mark_webhook_delivery("w0", FAILED, "timeout", 1, next_attempt_at=retry_at)
    await store.mark_webhook_delivery("w1", DEAD, "gave up", 5)

    assert await store.claim_webhook_deliveries(now=now(), lease_until=now(), limit=5) == []
    [due] = await store.claim_webhook_deliveries(now=retry_at, lease_until=retry_at, limit=5)
    assert (due.id, due.status, due.attempts, due.last_error) == ("w0", FAILED, 1, "timeout")
    dead = await store.get_webhook_delivery("int-1", "msg_1")
    assert (dead.status, dead.next_attempt_at, dead.processed_at) == (DEAD, None, now())


async def test_requeue_replays_a_dead_delivery_from_the_start(store: Store, now: ManualNow) -> None:
    await _integrations(store)
    await store.save_webhook_deliveries([_delivery(0)])
    await store.mark_webhook_delivery("w0", DEAD, "gave up", 5)
    now.advance(5)

    replayed = await store.requeue_webhook_delivery("int-1", "msg_0")

    assert (replayed.status, replayed.attempts, replayed.last_error, replayed.processed_at) == (
        WebhookStatus.RECEIVED, 0, None, None
    )  # fmt: skip
    assert replayed.next_attempt_at == now()
    [claimed] = await store.claim_webhook_deliveries(now=now(), lease_until=now(), limit=5)
    assert claimed.id == "w0"
    with pytest.raises(NotFound):
        await store.requeue_webhook_delivery("int-1", "msg_404")


async def test_requeue_refuses_a_delivery_whose_payload_retention_dropped(
    store: Store, now: ManualNow
) -> None:
    await _integrations(store)
    await store.save_webhook_deliveries([_delivery(0)])
    await store.settle_webhook_deliveries([_processed(0)])
    cutoff = now.advance(3600)
    await store.trim(RetentionCutoffs(cutoff, cutoff, cutoff))

    with pytest.raises(Conflict, match="no longer kept"):
        await store.requeue_webhook_delivery("int-1", "msg_0")
    assert (await store.get_webhook_delivery("int-1", "msg_0")).body is None


# -- settling: status, records and events in one transaction ------------------------------


async def test_settle_writes_records_and_events_of_processed_deliveries(
    store: Store, now: ManualNow
) -> None:
    await _integrations(store)
    await store.save_webhook_deliveries([_delivery(0), _delivery(1), _delivery(2)])
    retry_at = now() + timedelta(seconds=20)

    settled = await store.settle_webhook_deliveries(
        [
            _processed(0, WebhookRecords("customers", (_customer("c1", 1), _customer("c2", 1)))),
            WebhookOutcome("w1", "int-1", FAILED, 1, "upstream 503", retry_at),
            WebhookOutcome("w2", "int-1", DEAD, 1, "payload is not JSON"),
        ],
        record_events=STAMP,
    )

    assert settled.settled == ("w0", "w1", "w2")
    assert (settled.added, settled.updated, settled.unchanged, settled.deleted) == (2, 0, 0, 0)
    assert await _records(store) == {"c1": 1, "c2": 1}
    assert await _event_types(store) == [
        (RECORD_CHANGED, "c1"), (RECORD_CHANGED, "c2"), (RECEIVED, "received-0")
    ]  # fmt: skip
    states = {
        d.id: (d.status, d.attempts, d.last_error, d.next_attempt_at)
        for d in (await store.list_webhook_deliveries("int-1", limit=5)).items
    }
    assert states == {
        "w0": (PROCESSED, 1, None, None),
        "w1": (FAILED, 1, "upstream 503", retry_at),
        "w2": (DEAD, 1, "payload is not JSON", None),
    }


async def test_settle_leaves_a_delivery_settled_by_another_attempt_alone(store: Store) -> None:
    await _integrations(store)
    await store.save_webhook_deliveries([_delivery(0)])
    await store.settle_webhook_deliveries([_processed(0)])
    events_before = await _event_types(store)

    late = WebhookOutcome("w0", "int-1", FAILED, 2, "late failure")
    records = WebhookRecords("customers", (_customer("c1", 1),))
    again = await store.settle_webhook_deliveries(
        [_processed(0, records), late], record_events=STAMP
    )

    assert again.settled == ()
    assert await _records(store) == {}
    assert await _event_types(store) == events_before
    assert (await store.get_webhook_delivery("int-1", "msg_0")).status is PROCESSED


async def test_settle_takes_the_last_word_per_record_and_reports_only_changes(
    store: Store,
) -> None:
    await _integrations(store)
    await store.save_webhook_deliveries([_delivery(n) for n in range(5)])
    customers = "customers"
    await store.settle_webhook_deliveries(
        [_processed(0, WebhookRecords(customers, (_customer("c1", 1), _customer("c2", 1))))]
    )
    before = len(await store.events_after(None, 100))

    settled = await store.settle_webhook_deliveries(
        [
            _processed(1, WebhookRecords(customers, (_customer("c1", 2),), ("c2",))),
            _processed(2, WebhookRecords(customers, (_customer("c3", 1),))),
            _processed(3, WebhookRecords(customers, (_customer("c1", 3),), ("c3",))),
            _processed(4, WebhookRecords(customers, (_customer("c2", 1),))),
        ],
        record_events=STAMP,
    )

    assert await _records(store, include_deleted=True) == {"c1": 3, "c2": 1}
    assert (settled.added, settled.updated, settled.unchanged, settled.deleted) == (0, 1, 1, 0)
    changes = [
        (e.data["external_id"], e.data["change"])
        for e in (await store.events_after(None, 100))[before:]
        if e.type == RECORD_CHANGED
    ]
    assert changes == [("c1", "updated")]


async def test_settle_deletes_records_a_delivery_says_are_gone(store: Store) -> None:
    await _integrations(store)
    await store.save_webhook_deliveries([_delivery(0), _delivery(1)])
    records = WebhookRecords("customers", (_customer("c1", 1), _customer("c2", 1)))
    await store.settle_webhook_deliveries([_processed(0, records)])

    settled = await store.settle_webhook_deliveries(
        [_processed(1, WebhookRecords("customers", deletes=("c1", "c9")))], record_events=STAMP
    )

    assert settled.deleted == 1
    assert await _records(store, include_deleted=True) == {"c1": None, "c2": 1}
    changes = [
        (e.data["external_id"], e.data["change"])
        for e in await store.events_after(None, 100)
        if e.type == RECORD_CHANGED
    ]
    assert changes == [("c1", "deleted")]


async def test_record_a_webhook_adds_during_a_full_sync_survives_the_sync(store: Store) -> None:
    await _integrations(store)
    run = await store.start_run("int-1", "customers", RunKind.FULL)
    await store.write_batch(run.id, "int-1", "customers", [_customer("c1", 1)], None)
    await store.save_webhook_deliveries([_delivery(0)])
    await store.settle_webhook_deliveries(
        [_processed(0, WebhookRecords("customers", (_customer("c2", 1),)))]
    )

    finished = await store.finish_run(run.id, RunStatus.COMPLETED)

    assert finished.deleted == 0
    assert await _records(store) == {"c1": 1, "c2": 1}

    later = await store.start_run("int-1", "customers", RunKind.FULL)
    await store.write_batch(later.id, "int-1", "customers", [_customer("c1", 1)], None)
    assert (await store.finish_run(later.id, RunStatus.COMPLETED)).deleted == 1
