"""Cron expressions: the hub's default schedule and each integration's own.

croniter parses them. We accept the classic five fields (minute hour day-of-month month
day-of-week) and croniter's `@hourly`-style aliases, not its seconds and year extensions: the
scheduler works in minutes, and a six-field expression is more likely a mistake than a wish.
An expression that can never fire (`0 0 31 2 *`) is refused too.
"""

from __future__ import annotations

from datetime import UTC, datetime

from croniter import CroniterBadDateError, croniter

_HELP = "use five fields: minute hour day-of-month month day-of-week, e.g. '*/15 * * * *'"
_FIELDS = 5
_PROBE_START = datetime(2001, 3, 1, tzinfo=UTC)


def cron_problem(expression: str) -> str | None:
    """What is wrong with `expression` (quoting it: a schedule is never secret), or None."""
    stripped = expression.strip()
    fields = len(stripped.split())
    if not stripped.startswith("@") and fields != _FIELDS:
        return f"not a valid cron expression: {expression!r} has {fields} fields ({_HELP})"
    if not croniter.is_valid(stripped):
        return f"not a valid cron expression: {expression!r} ({_HELP})"
    try:
        croniter(stripped, _PROBE_START).get_next(datetime)
    except CroniterBadDateError:
        return f"cron expression {expression!r} never matches a date"
    return None
