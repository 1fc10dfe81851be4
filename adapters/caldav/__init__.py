"""The Calendar (CalDAV) adapter: events from CalDAV calendars (RFC 4791), read-only.

Discovery (principal, calendar home, calendars; `/.well-known/caldav` as a fallback), events
in a time window, incremental sync by sync token (RFC 6578) or ctag/etag, iCalendar parsed with
`icalendar` (recurrence kept as rules, time zones kept). The modules, from pure to I/O:
`_xml` (bodies, multistatus), `_discovery`, `_ical` (VEVENT -> record), `_state` (the
checkpoint), `_plan` (sync decisions), `_driver` (WebDAV over the shared HTTP client),
`_adapter`. Registered through the entry point `caldav = "adapters.caldav:SPEC"`.
"""

from adapters._contract import AdapterSpec
from adapters.caldav._adapter import ENTITY, Account, CalDavAdapter
from adapters.caldav._settings import CREDENTIALS, PASSWORD, TOKEN, CalDavSettings
from config import IntegrationType

SPEC = AdapterSpec(
    name="caldav",
    title="Calendar (CalDAV)",
    description=(
        "Events from CalDAV calendars (Nextcloud, iCloud, Radicale, …): found from the "
        "server's address, kept in a time window, changes picked up with sync tokens or "
        "ctag/etag. Read-only."
    ),
    icon="📅",
    kind=IntegrationType.CALDAV,
    factory=CalDavAdapter,
    settings_schema=CalDavSettings.model_json_schema(),
    credential_fields=CREDENTIALS,
    entities=(ENTITY,),
    required_credentials=(CREDENTIALS,),
    credential_help={
        PASSWORD: "With the username setting (HTTP Basic).",
        TOKEN: "Or a bearer token instead of the username and password.",
    },
)

__all__ = ["ENTITY", "SPEC", "Account", "CalDavAdapter", "CalDavSettings"]
