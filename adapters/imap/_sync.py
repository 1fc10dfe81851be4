"""One sync of the `messages` entity: folder after folder, batch after batch.

The I/O is the session's; where to start, what a batch's checkpoint says and how a message
becomes a record are decided by the pure modules (`_checkpoint`, `_message`). Parsing is
CPU work (a batch may hold megabytes of mail), so records are built in a worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from datetime import date, timedelta

import anyio.to_thread

from adapters._errors import ConfigError
from adapters._values import Batch, JsonObject, SourceRecord, SyncKind
from adapters.imap._checkpoint import Cursor, begin, needs_folders, read_cursor
from adapters.imap._message import Limits, message_record
from adapters.imap._responses import FetchedMessage
from adapters.imap._session import Session
from adapters.imap._settings import ImapSettings
from adapters.imap._wire import decode_folder

ENTITY = "messages"

log = logging.getLogger("adapters.imap")


async def folders_to_sync(session: Session, settings: ImapSettings) -> tuple[str, ...]:
    """The configured folders, or every selectable one the server lists but the excluded:
    INBOX first, then by name. Wire names."""
    configured = settings.wire_folders()
    if configured is not None:
        return configured
    listed = await session.list_folders()
    names = {
        folder.name
        for folder in listed
        if folder.selectable and not settings.excluded(decode_folder(folder.name))
    }
    return tuple(sorted(names, key=lambda name: (name != "INBOX", decode_folder(name), name)))


async def missing_folders(session: Session, settings: ImapSettings) -> list[str]:
    """Configured folders the server does not list as selectable (display names)."""
    configured = settings.wire_folders()
    if configured is None:
        return []
    listed = {folder.name for folder in await session.list_folders() if folder.selectable}
    return [decode_folder(name) for name in configured if name not in listed]


async def messages(
    session: Callable[[], Awaitable[Session]],
    settings: ImapSettings,
    checkpoint: JsonObject | None,
    kind: SyncKind,
    today: date,
) -> AsyncGenerator[Batch, None]:
    """The batches of one sync, the last one `complete`. `session()` gives a live session
    (a new one when the last one died; a sync that loses its own fails, to be resumed)."""
    previous = read_cursor(checkpoint)
    folders = await folders_to_sync(await session(), settings) if needs_folders(previous) else ()
    cursor = begin(previous, kind, folders)
    since = today - timedelta(days=settings.since_days) if settings.since_days else None
    limits = Limits(settings.max_text_chars, settings.max_message_bytes)
    while not cursor.done:
        live = await session()
        found = await live.select(cursor.folder)
        if found is None:
            cursor = _gone(cursor, settings)
            continue
        after, cursor = cursor.enter(found.uidvalidity)
        nothing_new = found.uidnext is not None and after >= found.uidnext - 1
        uids = () if found.exists == 0 or nothing_new else await live.search(after, since)
        display = decode_folder(cursor.folder)
        for start in range(0, len(uids), settings.batch_size):
            chunk = uids[start : start + settings.batch_size]
            fetched = await live.fetch(chunk, settings.max_message_bytes)
            records = await anyio.to_thread.run_sync(
                _records, display, found.uidvalidity, fetched, limits
            )
            cursor = cursor.advance(found.uidvalidity, chunk[-1])
            yield Batch(ENTITY, records, cursor.to_json())
        cursor = cursor.leave()
    yield Batch(ENTITY, (), cursor.to_json(), complete=True)


def _gone(cursor: Cursor, settings: ImapSettings) -> Cursor:
    """A folder that cannot be selected: a configured one is a mistake to fix; one found by
    LIST went away (or is not ours to read) since, and is passed over."""
    name = decode_folder(cursor.folder)
    if settings.folders is not None:
        raise ConfigError(f"the IMAP folder {name!r} is not on the server (or not readable)")
    log.warning("IMAP folder %r can no longer be selected; passed over", name)
    return cursor.leave()


def _records(
    folder: str, uidvalidity: int, fetched: Sequence[FetchedMessage], limits: Limits
) -> tuple[SourceRecord, ...]:
    return tuple(message_record(folder, uidvalidity, message, limits) for message in fetched)
