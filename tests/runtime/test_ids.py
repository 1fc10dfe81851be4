"""Random UUIDs from a pool of kernel randomness: valid version 4 ids, unique, not shared
with a forked child."""

from __future__ import annotations

import os
import uuid

from runtime import random_uuid


def test_random_uuid_is_a_canonical_version_4_uuid() -> None:
    for _ in range(1000):
        text = random_uuid()
        parsed = uuid.UUID(text)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == text


def test_random_uuid_never_repeats_across_refills() -> None:
    ids = [random_uuid() for _ in range(20_000)]  # many refills of 256

    assert len(set(ids)) == len(ids)


def test_a_forked_child_draws_ids_the_parent_does_not() -> None:
    random_uuid()  # the pool now holds ids the child would inherit
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its ids down the pipe, then gone without pytest's clean-up
        os.close(read_end)
        os.write(write_end, " ".join(random_uuid() for _ in range(10)).encode())
        os._exit(0)
    os.close(write_end)
    parent = {random_uuid() for _ in range(10)}
    with os.fdopen(read_end, "rb") as pipe:
        child = set(pipe.read().decode().split())
    os.waitpid(pid, 0)

    assert len(child) == 10
    assert not parent & child
