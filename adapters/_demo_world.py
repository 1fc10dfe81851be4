"""The demo's make-believe ERP: customers and invoices that live, change and die, one
generation per sync.

Generation 0 is drawn from the seed; generation g+1 is generation g after one "day": ~some
records deleted, some changed the way real ones change (people move, marry, switch mail
providers; invoices go from draft to open to paid or overdue), some added. Every step draws from
its own `Random(seed, entity, generation)`, so any generation is the same wherever it is
computed from, and a sync resumed in another process sees exactly the records it left. Additions
are a share of the *initial* size and deletions of the *current* one, so the world grows to
about `add_rate / delete_rate` times its start and stays there.
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from adapters._demo_names import COUNTRIES, MAIL_DOMAINS, Country, mail_local_part

CUSTOMERS = "customers"
INVOICES = "invoices"
ENTITIES = (CUSTOMERS, INVOICES)

Record = Mapping[str, str]

_BY_CODE = {country.code: country for country in COUNTRIES}
_WEIGHTS = [country.weight for country in COUNTRIES]
_FIRST_CUSTOMER = 10001
_FIRST_INVOICE = 100001
_NEXT_STATUS = {"draft": "open", "overdue": "paid"}


@dataclass(frozen=True, slots=True)
class WorldParams:
    seed: int
    customers: int
    invoices: int
    change_rate: float
    delete_rate: float
    add_rate: float
    start: date


@dataclass(frozen=True, slots=True)
class Changes:
    """What one generation did to an entity: ids added, changed, and deleted (in order)."""

    added: frozenset[str]
    changed: frozenset[str]
    deleted: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class World:
    generation: int
    entities: Mapping[str, Mapping[str, Record]]
    changes: Mapping[str, Changes]
    next_number: Mapping[str, int]

    def today(self, params: WorldParams) -> date:
        return params.start + timedelta(days=self.generation)


def initial_world(params: WorldParams) -> World:
    customer_rng = _rng(params, CUSTOMERS, 0)
    customers: dict[str, Record] = {}
    for number in range(_FIRST_CUSTOMER, _FIRST_CUSTOMER + params.customers):
        created = params.start - timedelta(days=customer_rng.randint(1, 1500))
        customers[f"K{number}"] = _new_customer(customer_rng, number, created)
    invoice_rng = _rng(params, INVOICES, 0)
    invoices: dict[str, Record] = {}
    owners = list(customers)
    for number in range(_FIRST_INVOICE, _FIRST_INVOICE + (params.invoices if owners else 0)):
        issued = params.start - timedelta(days=invoice_rng.randint(0, 365))
        invoice = _new_invoice(invoice_rng, number, customers, owners, issued)
        invoices[invoice["number"]] = _age_invoice(invoice_rng, invoice, params.start)
    return World(
        generation=0,
        entities={CUSTOMERS: customers, INVOICES: invoices},
        changes={
            CUSTOMERS: Changes(frozenset(customers), frozenset(), ()),
            INVOICES: Changes(frozenset(invoices), frozenset(), ()),
        },
        next_number={
            CUSTOMERS: _FIRST_CUSTOMER + params.customers,
            INVOICES: _FIRST_INVOICE + params.invoices,
        },
    )


def step(world: World, params: WorldParams) -> World:
    """The world one generation (one day) later."""
    generation = world.generation + 1
    today = params.start + timedelta(days=generation)
    customers, customer_changes, next_customer = _step_customers(world, params, today)
    invoices, invoice_changes, next_invoice = _step_invoices(world, params, customers, today)
    return World(
        generation=generation,
        entities={CUSTOMERS: customers, INVOICES: invoices},
        changes={CUSTOMERS: customer_changes, INVOICES: invoice_changes},
        next_number={CUSTOMERS: next_customer, INVOICES: next_invoice},
    )


def _step_customers(
    world: World, params: WorldParams, today: date
) -> tuple[dict[str, Record], Changes, int]:
    rng = _rng(params, CUSTOMERS, world.generation + 1)
    customers, deleted, changed = _cull(rng, world.entities[CUSTOMERS], params, _always)
    for key in changed:
        customers[key] = _change_customer(rng, customers[key], today)
    number = world.next_number[CUSTOMERS]
    added = []
    for _ in range(_count(rng, params.customers * params.add_rate)):
        customers[f"K{number}"] = _new_customer(rng, number, today)
        added.append(f"K{number}")
        number += 1
    return customers, Changes(frozenset(added), frozenset(changed), deleted), number


def _step_invoices(
    world: World, params: WorldParams, customers: Mapping[str, Record], today: date
) -> tuple[dict[str, Record], Changes, int]:
    rng = _rng(params, INVOICES, world.generation + 1)
    invoices, deleted, changed = _cull(rng, world.entities[INVOICES], params, _unpaid)
    for key in changed:
        invoices[key] = _change_invoice(rng, invoices[key], today)
    number = world.next_number[INVOICES]
    owners = list(customers)
    added = []
    for _ in range(_count(rng, params.invoices * params.add_rate) if owners else 0):
        invoice = _new_invoice(rng, number, customers, owners, today)
        invoices[invoice["number"]] = invoice
        added.append(invoice["number"])
        number += 1
    return invoices, Changes(frozenset(added), frozenset(changed), deleted), number


class WorldCache:
    """The last few generations computed, so the next one costs one step (thread-safe: the
    demo computes worlds in a worker thread)."""

    def __init__(self, params: WorldParams, keep: int = 4) -> None:
        self._params = params
        self._keep = keep
        self._worlds: OrderedDict[int, World] = OrderedDict()
        self._lock = threading.Lock()

    def at(self, generation: int) -> World:
        with self._lock:
            return self._at(generation)

    def _at(self, generation: int) -> World:
        world = self._worlds.get(generation)
        if world is None:
            earlier = [g for g in self._worlds if g <= generation]
            world = self._worlds[max(earlier)] if earlier else initial_world(self._params)
            while world.generation < generation:
                world = step(world, self._params)
            self._worlds[generation] = world
            while len(self._worlds) > self._keep:
                self._worlds.popitem(last=False)
        self._worlds.move_to_end(generation)
        return world


def _cull(
    rng: random.Random,
    records: Mapping[str, Record],
    params: WorldParams,
    changeable: Callable[[Record], bool],
) -> tuple[dict[str, Record], tuple[str, ...], list[str]]:
    """A copy of `records` less this generation's deletions, those deleted, and whom to change."""
    survivors = dict(records)
    deleted = rng.sample(list(survivors), _count(rng, len(survivors) * params.delete_rate))
    for key in deleted:
        del survivors[key]
    candidates = [key for key, record in survivors.items() if changeable(record)]
    wanted = min(len(candidates), _count(rng, len(survivors) * params.change_rate))
    return survivors, tuple(deleted), rng.sample(candidates, wanted)


def _always(record: Record) -> bool:
    return True


def _unpaid(record: Record) -> bool:
    return record["status"] != "paid"


def _new_customer(rng: random.Random, number: int, created: date) -> Record:
    country = rng.choices(COUNTRIES, weights=_WEIGHTS)[0]
    first, last = rng.choice(country.first_names), rng.choice(country.last_names)
    stamp = _stamp(rng, created)
    return {
        "id": f"K{number}",
        "name": f"{first} {last}",
        "email": f"{mail_local_part(first, last)}@{rng.choice(MAIL_DOMAINS)}",
        "city": rng.choice(country.cities),
        "country": country.code,
        "created": stamp,
        "updated": stamp,
    }


def _change_customer(rng: random.Random, customer: Record, today: date) -> Record:
    country = _BY_CODE[customer["country"]]
    first, _, last = customer["name"].partition(" ")
    changed = dict(customer, updated=_stamp(rng, today))
    what = rng.choices(("email", "city", "name"), weights=(5, 4, 1))[0]
    if what == "city":
        changed["city"] = rng.choice([c for c in country.cities if c != customer["city"]])
    if what == "name":
        last = rng.choice([n for n in country.last_names if n != last])
        changed["name"] = f"{first} {last}"
    if what in ("email", "name"):
        suffix = "" if what == "name" else str(rng.randint(1, 99))
        changed["email"] = f"{mail_local_part(first, last)}{suffix}@{rng.choice(MAIL_DOMAINS)}"
    return changed


def _new_invoice(
    rng: random.Random,
    number: int,
    customers: Mapping[str, Record],
    owners: list[str],
    issued: date,
) -> Record:
    customer = customers[rng.choice(owners)]
    country: Country = _BY_CODE[customer["country"]]
    amount = min(50_000.0, rng.lognormvariate(6.3, 1.1)) * country.per_euro
    return {
        "number": f"RE-{number}",
        "customer_id": customer["id"],
        "amount": f"{amount:.2f}",
        "currency": country.currency,
        "status": "draft" if rng.random() < 0.3 else "open",
        "issued": issued.isoformat(),
        "due": (issued + timedelta(days=rng.choice((14, 30)))).isoformat(),
        "updated": _stamp(rng, issued),
    }


def _age_invoice(rng: random.Random, invoice: Record, today: date) -> Record:
    """An initial invoice as it stands `today`: most past their due date are paid."""
    if date.fromisoformat(invoice["due"]) >= today:
        return invoice
    return dict(invoice, status="overdue" if rng.random() < 0.08 else "paid")


def _change_invoice(rng: random.Random, invoice: Record, today: date) -> Record:
    status = _NEXT_STATUS.get(invoice["status"])
    if status is None:
        overdue = date.fromisoformat(invoice["due"]) < today and rng.random() < 0.4
        status = "overdue" if overdue else "paid"
    return dict(invoice, status=status, updated=_stamp(rng, today))


def _stamp(rng: random.Random, day: date) -> str:
    moment = time(rng.randint(7, 18), rng.randint(0, 59), rng.randint(0, 59))
    return datetime.combine(day, moment, UTC).isoformat().replace("+00:00", "Z")


def _count(rng: random.Random, expected: float) -> int:
    """`expected` rounded up or down at random, so small rates still happen on average."""
    whole = int(expected)
    return whole + (rng.random() < expected - whole)


def _rng(params: WorldParams, entity: str, generation: int) -> random.Random:
    return random.Random(f"demo/{params.seed}/{entity}/{generation}")
