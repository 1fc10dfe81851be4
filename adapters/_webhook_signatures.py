"""Inbound webhook signatures: verify a raw body and its headers, or sign one. No I/O.

Four schemes (`config.WebhookScheme`), each an HMAC-SHA256 over the raw body as received:

| scheme   | signature header                        | signed content     | HMAC key             |
|----------|-----------------------------------------|--------------------|----------------------|
| standard | `webhook-signature: v1,<b64> [v1,…]`    | `{id}.{ts}.{body}` | base64 after `whsec_` |
| github   | `X-Hub-Signature-256: sha256=<hex>`     | body               | the secret's bytes   |
| stripe   | `Stripe-Signature: t=…,v1=<hex>[,v1=…]` | `{t}.{body}`       | the whole `whsec_…`  |
| shopify  | `X-Shopify-Hmac-Sha256: <b64>`          | body               | the secret's bytes   |

The delivery id that deduplicates comes from `webhook-id`, `X-GitHub-Delivery` and
`X-Shopify-Webhook-Id`; Stripe sends none, so it is the event's `id` from the JSON body, read
only once the signature holds, or else a hash of the body (Stripe re-sends the same body).
A timestamp the signature covers (standard, stripe) must lie within the tolerance of now, in
both directions. Shopify's `X-Shopify-Triggered-At` is reported but not enforced: it is not
signed (anyone can rewrite it) and Shopify's own retries keep it, hours later.

Every comparison is constant-time (`hmac.compare_digest`). Whatever is wrong raises
`SignatureError`, whose `reason` is for our log only (the sender gets a generic answer); no
reason ever contains the secret, a signature or the body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from config import WebhookScheme

DEFAULT_TOLERANCE = 300.0  # seconds, both ways
MAX_DELIVERY_ID = 200  # characters; a longer id is refused rather than stored
STANDARD_PREFIX = "whsec_"

_DIGITS = re.compile(r"[0-9]{1,12}")
_PRINTABLE_ID = re.compile(r"[\x21-\x7e]+")
_FRACTION = re.compile(r"(\.\d{1,6})\d*")


class SignatureError(Exception):
    """The delivery is not verifiably from the sender; `reason` says why, for our log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedDelivery:
    """What a verified delivery tells: its id (for deduplication) and when it was sent."""

    delivery_id: str
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class WebhookVerifier:
    """One integration's scheme with its key ready; build it with `from_secret` once and
    reuse it (the HMAC key schedule is computed once, then copied per delivery)."""

    scheme: WebhookScheme
    key: bytes = field(repr=False)
    tolerance: float = DEFAULT_TOLERANCE
    _mac: hmac.HMAC = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_mac", hmac.new(self.key, digestmod=hashlib.sha256))

    @classmethod
    def from_secret(
        cls, scheme: WebhookScheme, secret: str, tolerance: float = DEFAULT_TOLERANCE
    ) -> WebhookVerifier:
        """`ValueError` (naming no part of the secret) if the secret cannot be a key."""
        return cls(WebhookScheme(scheme), signing_key(scheme, secret), float(tolerance))

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: float) -> VerifiedDelivery:
        """`headers`: lower-case names, or a case-insensitive mapping; `now`: Unix seconds."""
        match self.scheme:
            case WebhookScheme.STANDARD:
                return self._standard(headers, body, now)
            case WebhookScheme.GITHUB:
                return self._github(headers, body)
            case WebhookScheme.STRIPE:
                return self._stripe(headers, body, now)
            case WebhookScheme.SHOPIFY:
                return self._shopify(headers, body)
        raise SignatureError(f"unknown scheme {self.scheme!r}")  # pragma: no cover

    def _digest(self, *parts: bytes) -> bytes:
        mac = self._mac.copy()
        for part in parts:
            mac.update(part)
        return mac.digest()

    def _standard(self, headers: Mapping[str, str], body: bytes, now: float) -> VerifiedDelivery:
        delivery_id = _delivery_id(_required(headers, "webhook-id"), "webhook-id")
        stamp = _required(headers, "webhook-timestamp")
        timestamp = _unix_seconds(stamp, "webhook-timestamp")
        expected = self._digest(f"{delivery_id}.{stamp}.".encode(), body)
        candidates = _standard_signatures(_required(headers, "webhook-signature"))
        _require_match(expected, candidates)
        _check_age(timestamp, now, self.tolerance)
        return VerifiedDelivery(delivery_id, _utc(timestamp))

    def _github(self, headers: Mapping[str, str], body: bytes) -> VerifiedDelivery:
        delivery_id = _delivery_id(_required(headers, "x-github-delivery"), "x-github-delivery")
        algorithm, _, signature = _required(headers, "x-hub-signature-256").partition("=")
        if algorithm != "sha256":
            raise SignatureError("x-hub-signature-256 does not start with 'sha256='")
        _require_match(self._digest(body), [_hex(signature)])
        return VerifiedDelivery(delivery_id)

    def _stripe(self, headers: Mapping[str, str], body: bytes, now: float) -> VerifiedDelivery:
        stamp, candidates = _stripe_header(_required(headers, "stripe-signature"))
        timestamp = _unix_seconds(stamp, "stripe-signature t")
        _require_match(self._digest(f"{stamp}.".encode(), body), candidates)
        _check_age(timestamp, now, self.tolerance)
        return VerifiedDelivery(stripe_event_id(body), _utc(timestamp))

    def _shopify(self, headers: Mapping[str, str], body: bytes) -> VerifiedDelivery:
        delivery_id = _delivery_id(
            _required(headers, "x-shopify-webhook-id"), "x-shopify-webhook-id"
        )
        signature = _base64(_required(headers, "x-shopify-hmac-sha256"))
        _require_match(self._digest(body), [signature])
        return VerifiedDelivery(delivery_id, _iso_time(headers.get("x-shopify-triggered-at")))


def signing_key(scheme: WebhookScheme, secret: str) -> bytes:
    """The HMAC key a scheme derives from the configured secret."""
    if not secret:
        raise ValueError("the webhook secret is empty")
    if WebhookScheme(scheme) is not WebhookScheme.STANDARD:
        return secret.encode()
    encoded = secret.removeprefix(STANDARD_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            "a Standard Webhooks secret is 'whsec_' followed by base64; this one is not"
        ) from None
    if not key:
        raise ValueError("the webhook secret decodes to no bytes")
    return key


def stripe_event_id(body: bytes) -> str:
    """The Stripe event's `id` (call only after the signature verified), else a body hash."""
    try:
        event = json.loads(body)
    except ValueError:
        event = None
    if isinstance(event, dict):
        event_id = event.get("id")
        if _is_delivery_id(event_id):
            return str(event_id)
    return "sha256:" + hashlib.sha256(body).hexdigest()


def sign_webhook(
    scheme: WebhookScheme,
    secret: str,
    body: bytes,
    *,
    delivery_id: str | None = None,
    timestamp: float | None = None,
) -> dict[str, str]:
    """The headers a sender of `scheme` adds to `body` (for tests, the benchmark and docs).

    `delivery_id` is required except for Stripe (whose id is in the body); `timestamp`
    (Unix seconds) is required for standard and Stripe, and optional for Shopify."""
    scheme = WebhookScheme(scheme)
    mac = hmac.new(signing_key(scheme, secret), digestmod=hashlib.sha256)
    if scheme is WebhookScheme.STRIPE:
        stamp = _stamp(timestamp)
        mac.update(f"{stamp}.".encode() + body)
        return {"Stripe-Signature": f"t={stamp},v1={mac.hexdigest()}"}
    if delivery_id is None:
        raise ValueError("sign_webhook needs delivery_id for this scheme")
    delivery = delivery_id
    if scheme is WebhookScheme.STANDARD:
        stamp = _stamp(timestamp)
        mac.update(f"{delivery}.{stamp}.".encode() + body)
        signature = base64.b64encode(mac.digest()).decode()
        return {
            "webhook-id": delivery,
            "webhook-timestamp": stamp,
            "webhook-signature": f"v1,{signature}",
        }
    mac.update(body)
    if scheme is WebhookScheme.GITHUB:
        return {"X-GitHub-Delivery": delivery, "X-Hub-Signature-256": f"sha256={mac.hexdigest()}"}
    headers = {
        "X-Shopify-Webhook-Id": delivery,
        "X-Shopify-Hmac-Sha256": base64.b64encode(mac.digest()).decode(),
    }
    if timestamp is not None:
        headers["X-Shopify-Triggered-At"] = _utc(timestamp).isoformat().replace("+00:00", "Z")
    return headers


# -- parsing, each failure a SignatureError naming what, never the value ----------------------


def _required(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None or not value.strip():
        raise SignatureError(f"header {name} is missing")
    return value.strip()


def _is_delivery_id(value: object) -> bool:
    return (
        isinstance(value, str)
        and len(value) <= MAX_DELIVERY_ID
        and _PRINTABLE_ID.fullmatch(value) is not None
    )


def _delivery_id(value: str, header: str) -> str:
    if not _is_delivery_id(value):
        raise SignatureError(f"header {header} is not a printable id of at most 200 characters")
    return value


def _unix_seconds(value: str, what: str) -> int:
    if not _DIGITS.fullmatch(value):
        raise SignatureError(f"{what} is not a Unix time in seconds")
    return int(value)


def _check_age(timestamp: int, now: float, tolerance: float) -> None:
    drift = now - timestamp
    if drift > tolerance:
        raise SignatureError(f"timestamp is {drift:.0f} s old (tolerance {tolerance:g} s)")
    if -drift > tolerance:
        raise SignatureError(f"timestamp is {-drift:.0f} s ahead (tolerance {tolerance:g} s)")


def _require_match(expected: bytes, candidates: list[bytes | None]) -> None:
    matched = False
    for candidate in candidates:
        if candidate is not None and hmac.compare_digest(expected, candidate):
            matched = True
    if not matched:
        raise SignatureError(
            "no signature matched" if candidates else "no signature of a known version"
        )


def _standard_signatures(header: str) -> list[bytes | None]:
    """The `v1` signatures of a `webhook-signature` header (others, e.g. `v1a`, ignored)."""
    found: list[bytes | None] = []
    for entry in header.split():
        version, _, signature = entry.partition(",")
        if version == "v1":
            found.append(_base64(signature))
    return found


def _stripe_header(header: str) -> tuple[str, list[bytes | None]]:
    stamps: list[str] = []
    signatures: list[bytes | None] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            stamps.append(value)
        elif key == "v1":
            signatures.append(_hex(value))
    if len(stamps) != 1:
        raise SignatureError("stripe-signature does not carry exactly one t=")
    return stamps[0], signatures


def _base64(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _hex(value: str) -> bytes | None:
    try:
        return bytes.fromhex(value)
    except ValueError:
        return None


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _iso_time(value: str | None) -> datetime | None:
    """An ISO 8601 time (nanoseconds cut to microseconds); None if absent or unreadable."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip()))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def _stamp(timestamp: float | None) -> str:
    if timestamp is None:
        raise ValueError("sign_webhook needs timestamp for this scheme")
    return str(int(timestamp))
