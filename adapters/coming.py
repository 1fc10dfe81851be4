"""The design card's systems that have no adapter yet, listed honestly as coming.

The catalog shows them (so the dashboard can say what is planned) but they cannot be
configured: validating an integration for one fails with a message saying so. A real adapter
of the same name, built in or from a plugin, replaces the entry here.
"""

from __future__ import annotations

from adapters._contract import (
    Adapter,
    AdapterContext,
    AdapterFactory,
    AdapterSpec,
    AdapterStatus,
)
from adapters._errors import ConfigError
from config import IntegrationType


def _not_yet(name: str) -> AdapterFactory:
    def refuse(_context: AdapterContext) -> Adapter:
        raise ConfigError(f"the {name} adapter is coming and cannot be used yet")

    return refuse


def _coming(
    name: str, title: str, kind: IntegrationType, icon: str, description: str
) -> AdapterSpec:
    return AdapterSpec(
        name=name,
        title=title,
        description=description,
        icon=icon,
        kind=kind,
        factory=_not_yet(title),
        settings_schema={"type": "object"},
        status=AdapterStatus.COMING,
    )


COMING: tuple[AdapterSpec, ...] = (
    _coming(
        "xentral",
        "Xentral ERP",
        IntegrationType.REST,
        "🏭",
        "Customers, invoices and products from the Xentral ERP.",
    ),
    _coming(
        "imap",
        "Email (IMAP)",
        IntegrationType.IMAP,
        "✉️",
        "Messages from any IMAP mailbox, near real time with IDLE.",
    ),
    _coming(
        "caldav",
        "Calendar (CalDAV)",
        IntegrationType.CALDAV,
        "📅",
        "Events from CalDAV calendars (Nextcloud, iCloud, Radicale, …).",
    ),
    _coming(
        "google-calendar",
        "Google Calendar",
        IntegrationType.REST,
        "📆",
        "Events from Google Calendar.",
    ),
    _coming(
        "outlook",
        "Microsoft Outlook",
        IntegrationType.REST,
        "📨",
        "Mail and calendar from Microsoft 365 through Microsoft Graph.",
    ),
    _coming(
        "monday",
        "Monday.com",
        IntegrationType.GRAPHQL,
        "📋",
        "Boards and items from Monday.com (GraphQL).",
    ),
    _coming(
        "klenty",
        "Klenty",
        IntegrationType.REST,
        "📈",
        "Prospects and cadences from the Klenty sales platform.",
    ),
    _coming(
        "salesforce",
        "Salesforce",
        IntegrationType.REST,
        "☁️",
        "Accounts, contacts and opportunities from Salesforce.",
    ),
    _coming(
        "phone",
        "Phone system",
        IntegrationType.WEBHOOK,
        "☎️",
        "Call events pushed by the phone system as signed webhooks.",
    ),
)
