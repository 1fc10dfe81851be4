"""Email (IMAP): the messages of a mailbox as records, near real time with IDLE.

- `_settings`: what the setup wizard asks (host, port, security, username, folders, window,
  batch size, watching) and the credentials (`password`, or `access_token` for XOAUTH2).
- `_wire`, `_responses`: IMAP syntax and the answers the adapter reads; pure.
- `_checkpoint`: where a sync stands (UIDVALIDITY + highest UID per folder); pure.
- `_message`: a message's headers, text and attachment metadata from its RFC 822 bytes; pure.
- `_driver`: one connection over aioimaplib, vendor errors translated at the edge.
- `_sync`, `_watch`: a sync's batches, and the watch for new mail (IDLE or polling).
- `_adapter`: `ImapAdapter`, which ties them to the adapter contract.

One entity, `messages`: external id `{folder}/{uidvalidity}/{uid}`, the folder in the record.
"""

from adapters._contract import AdapterSpec
from adapters.imap._adapter import ENTITY, ImapAdapter
from adapters.imap._settings import ACCESS_TOKEN, PASSWORD, ImapSettings, Security
from config import IntegrationType

SPEC = AdapterSpec(
    name="imap",
    title="Email (IMAP)",
    description=(
        "Messages from any IMAP mailbox: headers, text and attachment names (never the "
        "attachments), near real time with IDLE. Read only: nothing is sent, moved or marked "
        "read."
    ),
    icon="✉️",
    kind=IntegrationType.IMAP,
    factory=ImapAdapter,
    settings_schema=ImapSettings.model_json_schema(),
    credential_fields=(PASSWORD, ACCESS_TOKEN),
    entities=(ENTITY,),
    required_credentials=((PASSWORD, ACCESS_TOKEN),),
    credential_help={
        PASSWORD: "The mailbox password (or an app password).",
        ACCESS_TOKEN: "Or an OAuth 2.0 access token (XOAUTH2: Gmail, Microsoft 365) instead of "
        "the password; used as given, not refreshed.",
    },
)

__all__ = ["ACCESS_TOKEN", "ENTITY", "PASSWORD", "SPEC", "ImapAdapter", "ImapSettings", "Security"]
