"""Supervisors: strategies, restart types, backoff, intensity, parking, ordered shutdown."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import anyio
import pytest

from runtime import (
    ActorCell,
    ActorCrashed,
    ActorRef,
    Backoff,
    ChildChange,
    ChildSpec,
    Intensity,
    Lifecycle,
    OnIntensity,
    Restart,
    Strategy,
    Supervisor,
    SupervisorEscalation,
    SupervisorOptions,
)
from runtime.testing import MockClock, wait_for, wait_for_virtual
from tests.runtime.probes import Crash, Echo, Journal, Message, Note, Probe

NO_BACKOFF = Backoff(initial=0.0, immediate_first=True, jitter=0.0)
PATIENT = Intensity(max_restarts=1000, within=1.0)


def probe_spec(
    name: str,
    journal: Journal,
    clock: MockClock | None = None,
    *,
    restart: Restart = Restart.PERMANENT,
    fail_start: bool | Callable[[], bool] = False,
) -> tuple[ChildSpec, ActorRef[Message]]:
    def factory() -> Probe:
        failing = fail_start() if callable(fail_start) else fail_start
        return Probe(name, journal, fail_start=failing)

    cell: ActorCell[Message] = (
        ActorCell(name, factory) if clock is None else ActorCell(name, factory, clock=clock)
    )
    return ChildSpec(name, cell, restart), cell.ref


async def test_one_for_one_restarts_only_the_failed_child() -> None:
    journal = Journal()
    specs = [probe_spec(n, journal) for n in ("a", "b", "c")]
    options = SupervisorOptions(strategy=Strategy.ONE_FOR_ONE, backoff=NO_BACKOFF)
    async with Supervisor([s for s, _ in specs], options).running():
        refs = [ref for _, ref in specs]
        with pytest.raises(ActorCrashed):
            await refs[1].ask(Crash())
        assert await refs[1].ask(Echo("b back")) == "b back"
    assert journal.count("a:start") == 1
    assert journal.count("b:start") == 2
    assert journal.count("c:start") == 1


@pytest.mark.parametrize(
    ("strategy", "expected_starts"),
    [
        (Strategy.ONE_FOR_ALL, {"a": 2, "b": 2, "c": 2}),
        (Strategy.REST_FOR_ONE, {"a": 1, "b": 2, "c": 2}),
    ],
)
async def test_strategy_restarts_exactly_the_right_siblings(
    strategy: Strategy, expected_starts: dict[str, int]
) -> None:
    journal = Journal()
    specs = [probe_spec(n, journal) for n in ("a", "b", "c")]
    options = SupervisorOptions(strategy=strategy, backoff=NO_BACKOFF)
    async with Supervisor([s for s, _ in specs], options).running() as sup:
        refs = [ref for _, ref in specs]
        with pytest.raises(ActorCrashed):
            await refs[1].ask(Crash())
        await wait_for(
            lambda: (
                all(c.state is Lifecycle.RUNNING for c in sup.which_children())
                and journal.count("b:start") == 2
            )
        )
        for ref in refs:
            assert await ref.ask(Echo("up")) == "up"
    starts = {name: journal.count(f"{name}:start") for name in ("a", "b", "c")}
    assert starts == expected_starts
    if strategy is Strategy.ONE_FOR_ALL:
        # Siblings are stopped in reverse start order before everyone starts again in order.
        restart_phase = journal.entries[3:]
        assert restart_phase[:4] == ["b:stop", "c:stop", "a:stop", "a:start"]


async def test_transient_child_is_restarted_after_a_crash_but_not_a_normal_exit() -> None:
    runs = 0

    class FailsOnce:
        async def run(self, started: Callable[[], None]) -> None:
            nonlocal runs
            runs += 1
            started()
            if runs == 1:
                raise RuntimeError("first run fails")

        def request_stop(self) -> None:
            pass

        def lifecycle_changed(self, state: Lifecycle) -> None:
            pass

    options = SupervisorOptions(backoff=NO_BACKOFF)
    async with Supervisor(options=options).running() as sup:
        await sup.start_child(ChildSpec("once", FailsOnce(), Restart.TRANSIENT))
        await wait_for(lambda: sup.which_children()[0].state is Lifecycle.STOPPED)
        assert runs == 2
        await sup.restart_child("once")
        await wait_for(lambda: runs == 3 and sup.which_children()[0].state is Lifecycle.STOPPED)
        assert sup.which_children()[0].last_error is None


async def test_temporary_child_is_never_restarted_and_is_forgotten() -> None:
    journal = Journal()
    spec, ref = probe_spec("temp", journal, restart=Restart.TEMPORARY)
    async with Supervisor([spec]).running() as sup:
        with pytest.raises(ActorCrashed):
            await ref.ask(Crash())
        await wait_for(lambda: not sup.which_children())
    assert journal.count("temp:start") == 1


async def test_child_crashing_on_its_first_step_keeps_restarting_with_backoff(
    clock: MockClock,
) -> None:
    journal = Journal()
    starts: list[float] = []
    backoff = Backoff(initial=0.5, factor=2.0, cap=4.0, jitter=0.2)
    options = SupervisorOptions(intensity=PATIENT, backoff=backoff)

    def failing() -> bool:
        starts.append(clock.now())
        return True

    spec, _ = probe_spec("doomed", journal, clock, fail_start=failing)
    async with clock.autojump(), Supervisor([spec], options, clock=clock).running():
        await wait_for_virtual(clock, lambda: len(starts) >= 9, timeout=60)
    delays = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert delays[0] == 0.0
    for delay, base in zip(delays[1:], [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0], strict=False):
        assert base * 0.8 - 1e-9 <= delay <= min(4.0, base * 1.2) + 1e-9


async def test_backoff_is_forgotten_after_a_stable_run(clock: MockClock) -> None:
    journal = Journal()
    backoff = Backoff(initial=5.0, jitter=0.0, reset_after=60.0)
    options = SupervisorOptions(intensity=PATIENT, backoff=backoff)
    spec, ref = probe_spec("p", journal, clock)
    async with clock.autojump(), Supervisor([spec], options, clock=clock).running() as sup:
        with pytest.raises(ActorCrashed):
            await ref.ask(Crash())  # first restart: immediate
        with pytest.raises(ActorCrashed):
            await ref.ask(Crash())  # second: after 5 s
        crashed_at = clock.now()
        await wait_for_virtual(
            clock, lambda: ref.statistics().state is Lifecycle.RESTARTING, timeout=1
        )
        assert sup.which_children()[0].next_start_at == pytest.approx(crashed_at + 5.0)
        await wait_for_virtual(
            clock, lambda: ref.statistics().state is Lifecycle.RUNNING, timeout=6
        )
        await clock.sleep_until(clock.now() + 61.0)
        starts_before = journal.count("p:start")
        with pytest.raises(ActorCrashed):
            await ref.ask(Crash())
        restarted_at = clock.now()
        await wait_for_virtual(clock, lambda: journal.count("p:start") > starts_before, timeout=1)
        assert clock.now() == pytest.approx(restarted_at)  # immediate again


async def test_intensity_exceeded_escalates_to_the_parent(clock: MockClock) -> None:
    journal = Journal()
    inner_options = SupervisorOptions(
        name="inner", intensity=Intensity(max_restarts=2, within=10.0), backoff=NO_BACKOFF
    )
    spec, ref = probe_spec("worker", journal, clock)
    inner = Supervisor([spec], inner_options, clock=clock)
    changes: list[ChildChange] = []
    outer_options = SupervisorOptions(name="outer", backoff=NO_BACKOFF, intensity=PATIENT)
    outer = Supervisor(
        [ChildSpec("inner", inner)], outer_options, clock=clock, on_change=changes.append
    )
    async with clock.autojump(), outer.running():
        for _ in range(3):
            await wait_for_virtual(
                clock, lambda: ref.statistics().state is Lifecycle.RUNNING, timeout=5
            )
            with pytest.raises(ActorCrashed):
                await ref.ask(Crash())
        await wait_for_virtual(
            clock, lambda: any(c.new is Lifecycle.RESTARTING for c in changes), timeout=5
        )
        escalated = next(c for c in changes if c.new is Lifecycle.RESTARTING)
        assert escalated.child == "inner"
        assert escalated.error is not None
        assert "SupervisorEscalation" in escalated.error
        assert "'worker'" in escalated.error
        await wait_for_virtual(
            clock, lambda: ref.statistics().state is Lifecycle.RUNNING, timeout=5
        )
        assert await ref.ask(Echo("fresh")) == "fresh"


async def test_intensity_exceeded_at_the_top_raises_escalation() -> None:
    journal = Journal()
    options = SupervisorOptions(intensity=Intensity(max_restarts=0, within=10.0))
    spec, ref = probe_spec("worker", journal)
    with pytest.RaisesGroup(pytest.RaisesExc(SupervisorEscalation, match="'worker'")):
        async with Supervisor([spec], options).running():
            with pytest.raises(ActorCrashed):
                await ref.ask(Crash())
            await anyio.sleep_forever()
    assert journal.entries[-1] == "worker:stop"


async def test_root_parks_a_child_over_intensity_then_tries_again(clock: MockClock) -> None:
    journal = Journal()
    healthy = False
    changes: list[tuple[float, ChildChange]] = []
    options = SupervisorOptions(
        name="root",
        on_intensity=OnIntensity.PARK,
        intensity=Intensity(max_restarts=3, within=30.0),
        park_cooldown=30.0,
    )
    spec, ref = probe_spec("flaky", journal, clock, fail_start=lambda: not healthy)
    other, other_ref = probe_spec("steady", journal, clock)
    root = Supervisor(
        [spec, other], options, clock=clock, on_change=lambda c: changes.append((clock.now(), c))
    )
    async with clock.autojump(), root.running() as sup:
        await wait_for_virtual(
            clock, lambda: ref.statistics().state is Lifecycle.PARKED, timeout=30
        )
        parked_at = next(t for t, c in changes if c.new is Lifecycle.PARKED)
        assert journal.count("flaky:start") == 4
        assert sup.which_children()[0].next_start_at == pytest.approx(parked_at + 30.0)
        assert await other_ref.ask(Echo("unaffected")) == "unaffected"
        healthy = True
        await wait_for_virtual(
            clock, lambda: ref.statistics().state is Lifecycle.RUNNING, timeout=31
        )
        back_at = [t for t, c in changes if c.child == "flaky"][-1]
        assert back_at - parked_at == pytest.approx(30.0)
        assert await ref.ask(Echo("back")) == "back"


async def test_children_are_added_and_removed_while_running() -> None:
    journal = Journal()
    async with Supervisor().running() as sup:
        first = await sup.spawn("first", lambda: Probe("first", journal))
        second = await sup.spawn("second", lambda: Probe("second", journal))
        assert [c.id for c in sup.which_children()] == ["first", "second"]
        await sup.remove_child("first")
        assert [c.id for c in sup.which_children()] == ["second"]
        assert journal.entries[-1] == "first:stop"
        assert await second.ask(Echo("ok")) == "ok"
        with pytest.raises(ValueError, match="already has a child 'second'"):
            await sup.spawn("second", lambda: Probe("second", journal))
        with pytest.raises(KeyError, match="no child 'first'"):
            await sup.remove_child("first")
    assert first.statistics().state is Lifecycle.STOPPED


async def test_shutdown_stops_children_in_reverse_start_order() -> None:
    journal = Journal()
    specs = [probe_spec(n, journal)[0] for n in ("a", "b", "c")]
    async with Supervisor(specs).running() as sup:
        await sup.spawn("d", lambda: Probe("d", journal))
    stops = [e for e in journal.entries if e.endswith(":stop")]
    assert stops == ["d:stop", "c:stop", "b:stop", "a:stop"]


async def test_shutdown_cancels_a_child_that_ignores_stop(clock: MockClock) -> None:
    cancelled_at: list[float] = []

    class Stubborn:
        async def run(self, started: Callable[[], None]) -> None:
            started()
            try:
                await anyio.sleep_forever()
            finally:
                cancelled_at.append(clock.now())

        def request_stop(self) -> None:
            pass  # ignores it

        def lifecycle_changed(self, state: Lifecycle) -> None:
            pass

    spec = ChildSpec("stubborn", Stubborn(), shutdown_timeout=7.0)
    async with clock.autojump(), Supervisor([spec], clock=clock).running():
        pass
    assert cancelled_at == [pytest.approx(7.0)]


async def test_no_task_survives_shutdown() -> None:
    before = set(asyncio.all_tasks())
    journal = Journal()
    async with Supervisor().running() as sup:
        for n in range(10):
            await sup.spawn(f"p{n}", lambda n=n: Probe(f"p{n}", journal))  # type: ignore[misc]  # default binds the loop variable
        assert len(asyncio.all_tasks()) > len(before)
    assert set(asyncio.all_tasks()) == before


async def test_on_change_hook_sees_every_move() -> None:
    changes: list[ChildChange] = []
    journal = Journal()
    options = SupervisorOptions(backoff=NO_BACKOFF)
    async with Supervisor(options=options, on_change=changes.append).running() as sup:
        ref = await sup.spawn("p", lambda: Probe("p", journal))
        with pytest.raises(ActorCrashed):
            await ref.ask(Crash())
        await wait_for(lambda: ref.statistics().restarts == 1)
        await wait_for(lambda: ref.statistics().state is Lifecycle.RUNNING)
    moves = [(c.old.value, c.new.value) for c in changes]
    assert moves == [
        ("new", "starting"),
        ("starting", "running"),
        ("running", "restarting"),
        ("restarting", "starting"),
        ("starting", "running"),
        ("running", "stopping"),
        ("stopping", "stopped"),
    ]
    assert changes[2].error == "ValueError: boom"


async def test_operations_on_a_stopped_supervisor_raise() -> None:
    sup = Supervisor()
    with pytest.raises(RuntimeError, match="not running"):
        await sup.spawn("p", lambda: Probe("p", Journal()))


async def test_tell_during_restart_backoff_is_kept(clock: MockClock) -> None:
    journal = Journal()
    options = SupervisorOptions(backoff=Backoff(initial=3.0, jitter=0.0, immediate_first=False))
    spec, ref = probe_spec("p", journal, clock)
    async with clock.autojump(), Supervisor([spec], options, clock=clock).running():
        with pytest.raises(ActorCrashed):
            await ref.ask(Crash())
        await wait_for_virtual(
            clock, lambda: ref.statistics().state is Lifecycle.RESTARTING, timeout=1
        )
        await ref.tell(Note("while down"))
        await wait_for_virtual(clock, lambda: journal.count("p:while down") == 1, timeout=4)


async def test_restart_child_starts_a_parked_child_at_once(clock: MockClock) -> None:
    journal = Journal()
    healthy = False
    options = SupervisorOptions(
        on_intensity=OnIntensity.PARK, intensity=Intensity(max_restarts=1, within=30.0)
    )
    spec, ref = probe_spec("flaky", journal, clock, fail_start=lambda: not healthy)
    async with clock.autojump(), Supervisor([spec], options, clock=clock).running() as sup:
        await wait_for_virtual(clock, lambda: ref.statistics().state is Lifecycle.PARKED, timeout=5)
        parked_at = clock.now()
        healthy = True
        await sup.restart_child("flaky")
        await wait_for_virtual(
            clock, lambda: ref.statistics().state is Lifecycle.RUNNING, timeout=1
        )
        assert clock.now() - parked_at < 1.0
        assert sup.which_children()[0].next_start_at is None
        assert await ref.ask(Echo("now")) == "now"
