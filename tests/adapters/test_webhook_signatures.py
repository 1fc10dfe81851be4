"""Webhook signatures of the four schemes: published test vectors, round trips through
`sign_webhook`, and a table of what must be refused. Pure functions: no socket, no loop."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from multidict import CIMultiDict

from adapters import SignatureError, VerifiedDelivery, WebhookVerifier, sign_webhook, signing_key
from config import WebhookScheme

STANDARD, GITHUB, STRIPE, SHOPIFY = (
    WebhookScheme.STANDARD,
    WebhookScheme.GITHUB,
    WebhookScheme.STRIPE,
    WebhookScheme.SHOPIFY,
)
NOW = 1_700_000_000
BODY = b'{"id": "evt_1NG8Du2eZvKYlo2CUI79vXWy", "type": "customer.updated"}'
SECRETS = {
    STANDARD: "whsec_" + base64.b64encode(b"a 24-byte key for tests!").decode(),
    GITHUB: "gh-secret-for-tests",
    STRIPE: "whsec_stripe_secret_for_tests",
    SHOPIFY: "shopify-secret-for-tests",
}
Headers = dict[str, str]


def _verifier(scheme: WebhookScheme, secret: str | None = None) -> WebhookVerifier:
    return WebhookVerifier.from_secret(scheme, secret or SECRETS[scheme])


def _signed(scheme: WebhookScheme, body: bytes = BODY, at: float = NOW) -> Headers:
    """Headers as the sender sends them, names lower-cased (as `WebhookRequest` keeps them)."""
    headers = sign_webhook(scheme, SECRETS[scheme], body, delivery_id="msg_1", timestamp=at)
    return {name.lower(): value for name, value in headers.items()}


# -- published test vectors --------------------------------------------------------------


def test_standard_webhooks_published_vector_verifies_and_signs() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }

    verified = _verifier(STANDARD, secret).verify(headers, body, now=1614265330 + 10)

    assert verified == VerifiedDelivery(
        "msg_p5jXN8AQM9LWM0D4loKWxJek", datetime.fromtimestamp(1614265330, UTC)
    )
    signed = sign_webhook(
        STANDARD, secret, body, delivery_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=1614265330
    )
    assert signed == headers


def test_github_documented_vector_verifies_and_signs() -> None:
    secret = "It's a Secret to Everybody"
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    headers = {"x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}

    verified = _verifier(GITHUB, secret).verify(
        {**headers, "x-hub-signature-256": signature}, b"Hello, World!", now=NOW
    )

    assert verified == VerifiedDelivery("72d3162e-cc78-11e3-81ab-4c9367dc0958")
    signed = sign_webhook(
        GITHUB, secret, b"Hello, World!", delivery_id=headers["x-github-delivery"]
    )
    assert signed["X-Hub-Signature-256"] == signature


def test_stripe_signs_with_the_whole_whsec_string_over_timestamp_and_body() -> None:
    secret = SECRETS[STRIPE]
    expected = hmac.new(secret.encode(), b"%d." % NOW + BODY, hashlib.sha256).hexdigest()

    headers = sign_webhook(STRIPE, secret, BODY, timestamp=NOW)

    assert headers == {"Stripe-Signature": f"t={NOW},v1={expected}"}
    received = {"stripe-signature": headers["Stripe-Signature"]}
    verified = _verifier(STRIPE).verify(received, BODY, now=NOW)
    assert verified == VerifiedDelivery(
        "evt_1NG8Du2eZvKYlo2CUI79vXWy", datetime.fromtimestamp(NOW, UTC)
    )


def test_shopify_signs_the_body_with_base64_of_the_hmac() -> None:
    secret = SECRETS[SHOPIFY]
    expected = base64.b64encode(hmac.new(secret.encode(), BODY, hashlib.sha256).digest()).decode()

    headers = sign_webhook(SHOPIFY, secret, BODY, delivery_id="b54557e4-bdd9", timestamp=NOW)

    assert headers["X-Shopify-Hmac-Sha256"] == expected
    assert headers["X-Shopify-Webhook-Id"] == "b54557e4-bdd9"
    assert headers["X-Shopify-Triggered-At"] == "2023-11-14T22:13:20Z"


# -- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", list(WebhookScheme))
def test_signed_delivery_verifies_with_case_insensitive_headers(scheme: WebhookScheme) -> None:
    signed = sign_webhook(scheme, SECRETS[scheme], BODY, delivery_id="msg_1", timestamp=NOW)

    verified = _verifier(scheme).verify(CIMultiDict(signed), BODY, now=NOW + 5)

    expected_id = "evt_1NG8Du2eZvKYlo2CUI79vXWy" if scheme is STRIPE else "msg_1"
    assert verified.delivery_id == expected_id


def test_standard_accepts_any_matching_signature_among_several() -> None:
    headers = _signed(STANDARD)
    good = headers["webhook-signature"]
    other = sign_webhook(STANDARD, "whsec_b3RoZXI=", BODY, delivery_id="msg_1", timestamp=NOW)
    headers["webhook-signature"] = f"v1a,c2lnbmVk {other['webhook-signature']} {good} v1,!!"

    assert _verifier(STANDARD).verify(headers, BODY, now=NOW).delivery_id == "msg_1"


def test_stripe_accepts_any_matching_v1_among_several() -> None:
    header = _signed(STRIPE)["stripe-signature"]
    stamp, good = header.split(",")
    headers = {"stripe-signature": f"{stamp},v0=00,v1={'ab' * 32},{good}"}

    assert _verifier(STRIPE).verify(headers, BODY, now=NOW).delivery_id.startswith("evt_")


def test_standard_secret_without_prefix_is_the_same_key() -> None:
    secret = SECRETS[STANDARD]

    assert signing_key(STANDARD, secret) == signing_key(STANDARD, secret.removeprefix("whsec_"))
    assert signing_key(STANDARD, secret) == b"a 24-byte key for tests!"


@pytest.mark.parametrize("age", [-300, 0, 300])
def test_timestamp_within_tolerance_either_way_is_accepted(age: int) -> None:
    for scheme in (STANDARD, STRIPE):
        _verifier(scheme).verify(_signed(scheme, at=NOW), BODY, now=NOW + age)


def test_stripe_delivery_id_is_a_body_hash_when_the_body_names_no_event() -> None:
    for body in (b"not json", b'{"no_id": 1}', b'{"id": "%s"}' % (b"x" * 201), b'{"id": "a b"}'):
        headers = _signed(STRIPE, body)

        delivery_id = _verifier(STRIPE).verify(headers, body, now=NOW).delivery_id

        assert delivery_id == "sha256:" + hashlib.sha256(body).hexdigest()


def test_shopify_triggered_at_is_reported_not_enforced() -> None:
    headers = _signed(SHOPIFY)
    headers["x-shopify-triggered-at"] = "2023-03-29T18:00:27.877041743Z"

    verified = _verifier(SHOPIFY).verify(headers, BODY, now=NOW + 86_400)

    assert verified.timestamp == datetime(2023, 3, 29, 18, 0, 27, 877041, tzinfo=UTC)
    headers["x-shopify-triggered-at"] = "yesterday"
    assert _verifier(SHOPIFY).verify(headers, BODY, now=NOW).timestamp is None


# -- refusals ------------------------------------------------------------------------------


def _drop(name: str) -> Callable[[Headers], Headers]:
    return lambda headers: {k: v for k, v in headers.items() if k != name}


def _set(name: str, value: str) -> Callable[[Headers], Headers]:
    return lambda headers: {**headers, name: value}


def _same(headers: Headers) -> Headers:
    return headers


REFUSALS: list[tuple[str, WebhookScheme, Callable[[Headers], Headers], bytes, int, str]] = [
    # (case, scheme, header change, body, seconds after signing, reason contains)
    ("standard tampered body", STANDARD, _same, BODY + b" ", 0, "no signature matched"),
    ("standard stale", STANDARD, _same, BODY, 301, "301 s old"),
    ("standard future", STANDARD, _same, BODY, -301, "301 s ahead"),
    ("standard no id", STANDARD, _drop("webhook-id"), BODY, 0, "webhook-id is missing"),
    ("standard other id", STANDARD, _set("webhook-id", "msg_2"), BODY, 0, "no signature"),
    ("standard no time", STANDARD, _drop("webhook-timestamp"), BODY, 0, "missing"),
    ("standard bad time", STANDARD, _set("webhook-timestamp", "1e9"), BODY, 0, "Unix time"),
    ("standard no signature", STANDARD, _drop("webhook-signature"), BODY, 0, "missing"),
    ("standard v1a only", STANDARD, _set("webhook-signature", "v1a,abc"), BODY, 0, "known"),
    ("standard bad base64", STANDARD, _set("webhook-signature", "v1,%%%"), BODY, 0, "no signature"),
    ("standard id too long", STANDARD, _set("webhook-id", "m" * 201), BODY, 0, "printable id"),
    ("github tampered body", GITHUB, _same, b"{}", 0, "no signature matched"),
    ("github no delivery", GITHUB, _drop("x-github-delivery"), BODY, 0, "missing"),
    ("github no signature", GITHUB, _drop("x-hub-signature-256"), BODY, 0, "missing"),
    ("github sha1", GITHUB, _set("x-hub-signature-256", "sha1=abcd"), BODY, 0, "sha256="),
    ("github not hex", GITHUB, _set("x-hub-signature-256", "sha256=zz"), BODY, 0, "no signature"),
    ("stripe tampered body", STRIPE, _same, BODY[:-1], 0, "no signature matched"),
    ("stripe stale", STRIPE, _same, BODY, 400, "400 s old"),
    ("stripe future", STRIPE, _same, BODY, -400, "400 s ahead"),
    ("stripe no header", STRIPE, _drop("stripe-signature"), BODY, 0, "missing"),
    ("stripe no t", STRIPE, _set("stripe-signature", "v1=abcd"), BODY, 0, "exactly one t="),
    ("stripe two t", STRIPE, _set("stripe-signature", "t=1,t=2,v1=ab"), BODY, 0, "exactly one"),
    ("stripe no v1", STRIPE, _set("stripe-signature", f"t={NOW},v0=ab"), BODY, 0, "known"),
    ("shopify tampered body", SHOPIFY, _same, b"[]", 0, "no signature matched"),
    ("shopify no id", SHOPIFY, _drop("x-shopify-webhook-id"), BODY, 0, "missing"),
    ("shopify no hmac", SHOPIFY, _drop("x-shopify-hmac-sha256"), BODY, 0, "missing"),
]


@pytest.mark.parametrize(
    ("scheme", "change", "body", "later", "reason"),
    [case[1:] for case in REFUSALS],
    ids=[case[0] for case in REFUSALS],
)
def test_verify_refuses(
    scheme: WebhookScheme,
    change: Callable[[Headers], Headers],
    body: bytes,
    later: int,
    reason: str,
) -> None:
    headers = change(_signed(scheme))

    with pytest.raises(SignatureError) as refused:
        _verifier(scheme).verify(headers, body, now=NOW + later)

    assert reason in refused.value.reason
    _tells_nothing_secret(refused.value.reason, scheme, headers)


@pytest.mark.parametrize("scheme", list(WebhookScheme))
def test_wrong_secret_is_refused(scheme: WebhookScheme) -> None:
    headers = _signed(scheme)
    wrong = "whsec_" + base64.b64encode(b"another key").decode()

    with pytest.raises(SignatureError, match="no signature matched") as refused:
        _verifier(scheme, wrong).verify(headers, BODY, now=NOW)

    _tells_nothing_secret(refused.value.reason, scheme, headers)


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_not base64!", "whsec_@@@@"])
def test_unusable_standard_secret_is_a_value_error_naming_no_part_of_it(secret: str) -> None:
    with pytest.raises(ValueError, match="secret") as refused:
        WebhookVerifier.from_secret(STANDARD, secret)

    assert not secret or secret not in str(refused.value)


def test_verifier_repr_hides_the_key() -> None:
    verifier = _verifier(GITHUB)

    assert SECRETS[GITHUB] not in repr(verifier)
    assert "key" not in repr(verifier)


def test_sign_webhook_names_what_a_scheme_needs() -> None:
    with pytest.raises(ValueError, match="delivery_id"):
        sign_webhook(GITHUB, "s", BODY)
    with pytest.raises(ValueError, match="timestamp"):
        sign_webhook(STANDARD, SECRETS[STANDARD], BODY, delivery_id="m")
    with pytest.raises(ValueError, match="timestamp"):
        sign_webhook(STRIPE, "s", BODY)


def _tells_nothing_secret(reason: str, scheme: WebhookScheme, headers: Headers) -> None:
    assert SECRETS[scheme] not in reason
    for name in ("webhook-signature", "x-hub-signature-256", "stripe-signature"):
        value = headers.get(name, "")
        for part in value.replace(",", " ").replace("=", " ").split():
            if len(part) > 12:
                assert part not in reason
    assert BODY.decode() not in reason
