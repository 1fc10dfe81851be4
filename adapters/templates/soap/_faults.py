"""SOAP faults sorted into our error taxonomy, as plain functions over plain data.

A fault is read (in `_zeep`) into a `FaultInfo`: its code as written (`soap:Client.Authentication`,
`sf:INVALID_LOGIN`, SOAP 1.2 `soap:Sender` with subcodes), its text, the short codes in its
detail (Salesforce's `exceptionCode`) and the HTTP status it came with. `classify_fault`
decides, first by the template's own words (`faults:`), then by ours:

- credentials refused (`Authentication`, `FailedAuthentication`, `INVALID_LOGIN`,
  `INVALID_SESSION_ID`, "invalid password", ...): AuthError, stop and ask to reconnect;
- over a limit (`REQUEST_LIMIT_EXCEEDED`, "rate limit", "throttled"): RateLimited;
- the server's trouble (`Server`/`Receiver`, "timeout", "unavailable", "busy", or no fault
  code at all with a 5xx): TransientError, retried with backoff;
- anything else (`Client`/`Sender`, a vendor's own code): PermanentError.

HTTP statuses before a fault (401/403, 429, 5xx) are the shared HTTP client's, as for REST.
`fault_error` builds the error; its text never carries a credential value (those the adapter
holds are cut out before the usual scrubbing).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from adapters._errors import (
    AuthError,
    IntegrationError,
    PermanentError,
    RateLimited,
    TransientError,
)
from adapters._redact import REDACTED
from adapters.templates.soap._model import Faults

_MESSAGE_CHARS = 300

_AUTH = re.compile(
    r"(?i)authenticat|unauthori[sz]ed|not.?authori[sz]ed|access.?denied|"
    r"invalid.?(?:login|session|credential|user(?:name)?|password|security|token|api.?key)|"
    r"login.?(?:failed|denied|required|must)|not.?logged.?in|bad.?credential|"
    r"wrong.?(?:password|credential)|(?:password|credential)s?.?(?:invalid|incorrect|expired)|"
    r"security.?token|session.?(?:expired|invalid|timed.?out)"
)
_RATE = re.compile(
    r"(?i)rate.?limit|too.?many.?requests|throttl|quota|request.?limit|limit.?exceeded"
)
_TRANSIENT = re.compile(
    r"(?i)time.?out|timed.?out|unavailable|busy|try.?again|temporar|overload|deadlock"
)
_SERVER_CODES = frozenset({"server", "receiver"})
_CLIENT_CODES = frozenset(
    {"client", "sender", "versionmismatch", "mustunderstand", "dataencodingunknown"}
)


class FaultKind(enum.Enum):
    AUTH = "auth"
    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class FaultInfo:
    """A SOAP fault as plain data; `code` as the peer wrote it, None when the reply was no
    fault at all (an error status with some other XML)."""

    code: str | None
    message: str = ""
    subcodes: tuple[str, ...] = ()
    detail_codes: tuple[str, ...] = ()
    status: int | None = None

    def words(self) -> str:
        """Everything a marker may be found in (not shown to anyone)."""
        return " ".join([self.code or "", *self.subcodes, *self.detail_codes, self.message])


class ServerFault(TransientError):
    """A fault the server says is its own trouble: worth the same call again, after a wait
    (the adapter retries these; the HTTP client has already retried what it could)."""


def code_class(code: str | None) -> str:
    """`soap:Client.Authentication` -> `client`; `{ns}Receiver` -> `receiver`."""
    if not code:
        return ""
    local = code.rsplit("}", 1)[-1].rsplit(":", 1)[-1]
    return local.split(".", 1)[0].strip().lower()


def classify_fault(fault: FaultInfo, rules: Faults | None = None) -> FaultKind:
    """What `fault` means: the template's words first, then ours, then the code's class."""
    words = fault.words().lower()
    rules = rules or Faults()
    own = (
        (rules.auth, FaultKind.AUTH),
        (rules.rate_limited, FaultKind.RATE_LIMITED),
        (rules.transient, FaultKind.TRANSIENT),
        (rules.permanent, FaultKind.PERMANENT),
    )
    for markers, kind in own:
        if any(marker.lower() in words for marker in markers):
            return kind
    return _builtin(fault, words)


def _builtin(fault: FaultInfo, words: str) -> FaultKind:
    kind = code_class(fault.code)
    decisions = (
        (_AUTH.search(words) is not None, FaultKind.AUTH),
        (_RATE.search(words) is not None, FaultKind.RATE_LIMITED),
        (kind in _SERVER_CODES, FaultKind.TRANSIENT),
        (kind in _CLIENT_CODES, FaultKind.PERMANENT),
        (_TRANSIENT.search(words) is not None, FaultKind.TRANSIENT),
        (fault.code is None and (fault.status or 500) >= 500, FaultKind.TRANSIENT),
    )
    return next((kind for matched, kind in decisions if matched), FaultKind.PERMANENT)


def fault_error(
    fault: FaultInfo, kind: FaultKind, *, context: str, secrets: Collection[str] = ()
) -> IntegrationError:
    """The error for a classified fault: `context` (adapter and operation), the code and the
    fault's text, with any of `secrets` cut out."""
    text = shown_text(fault.message, secrets)
    code = fault.code or "(no fault code)"
    label = f"{context}: SOAP fault {shown_text(code, secrets)}" + (f": {text}" if text else "")
    match kind:
        case FaultKind.AUTH:
            return AuthError(f"{label}; the credentials were refused, reconnect the integration")
        case FaultKind.RATE_LIMITED:
            return RateLimited(None, f"{label}; rate limited")
        case FaultKind.TRANSIENT:
            return ServerFault(label)
        case FaultKind.PERMANENT:
            return PermanentError(label)


def shown_text(text: str, secrets: Iterable[str]) -> str:
    """`text` on one line, shortened, with every secret value cut out."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 3:
            text = text.replace(secret, REDACTED)
    text = " ".join(text.split())
    if len(text) > _MESSAGE_CHARS:
        text = text[: _MESSAGE_CHARS - 1] + "…"
    return text
