"""WAL checkpoints of the embedded backend on a thread of their own, off the write path.

SQLite's automatic checkpoint runs inside the COMMIT that pushes the WAL past its limit: that
commit copies some thousand pages back into the database file and fsyncs it, so one batch of a
sync in every few pays for all of them (a 10k-record sync spent a fifth of its time there). Here
the store's connection only checkpoints as a safety net (`SAFETY_NET_PAGES`), and a
`Checkpointer` with its own connection runs a PASSIVE checkpoint shortly after writes: PASSIVE
takes no lock a writer needs, so commits go on meanwhile, and SQLite releases the GIL while it
copies. This is how SQLite's documentation suggests running checkpoints in a busy application.

Durability is unchanged: WAL mode with `synchronous = NORMAL` fsyncs at checkpoints either way,
and a checkpoint never loses a committed transaction, whichever connection runs it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path

# The store's own connection checkpoints only if the WAL outgrows this (40 MB of 16 KiB pages,
# 10 MB of a database made with 4 KiB ones): when the thread below cannot keep up, or is gone.
SAFETY_NET_PAGES = 2_500
SAFETY_NET_PRAGMA = f"PRAGMA wal_autocheckpoint = {SAFETY_NET_PAGES}"

CHECKPOINT = "PRAGMA wal_checkpoint(PASSIVE)"


class Checkpointer:
    """Checkpoints the WAL of `path` after writes (`nudge`), at most once per `interval` s."""

    def __init__(self, path: Path, interval: float = 0.1) -> None:
        self._path = path
        self._interval = interval
        self._nudged = threading.Event()
        self._stopping = threading.Event()
        # A daemon, so that a store left unclosed cannot keep a process from exiting (a
        # checkpoint cut short is harmless: the WAL still holds every page); `stop` joins it.
        self._thread = threading.Thread(target=self._run, name="hub-sqlite-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def nudge(self) -> None:
        """Something was committed: checkpoint soon."""
        self._nudged.set()

    def stop(self) -> None:
        """Ends the thread and waits for it (a checkpoint under way finishes first)."""
        self._stopping.set()
        self._nudged.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        try:
            connection = sqlite3.connect(self._path, isolation_level=None)
        except sqlite3.Error:
            return  # the store's own safety-net checkpoints remain
        try:
            connection.execute("PRAGMA synchronous = NORMAL")
            while True:
                self._nudged.wait()
                if self._stopping.is_set():
                    return
                self._nudged.clear()
                _checkpoint(connection)
                if self._stopping.wait(self._interval):
                    return
        finally:
            connection.close()


def _checkpoint(connection: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):  # retried after the next write
        connection.execute(CHECKPOINT).fetchall()
