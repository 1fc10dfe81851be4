"""No secret in the repr or str of any vault object or error: plaintext, keys, ciphertext."""

from __future__ import annotations

import base64
import logging

import pytest

from runtime.vault import (
    Credential,
    DecryptionFailed,
    MissingKey,
    RotationProgress,
    RotationResult,
    Secret,
    Vault,
    parse_keyring,
)
from tests.runtime.vault.keys import assert_no_key_material, key_bytes, key_text

TOKEN = "ghp_R4nd0mL00k1ngT0k3nZ9y8x7w6v5u"
SETTING = f"new:{key_text('new')},old:{key_text('old')}"


def forbidden() -> list[str]:
    """Every written form of the secrets in play, for a substring search."""
    forms = [TOKEN, key_text("new"), key_text("old")]
    for label in ("new", "old"):
        raw = key_bytes(label)
        forms += [repr(raw), raw.hex(), base64.urlsafe_b64encode(raw).decode()]
    return forms


def assert_redacted(*texts: str) -> None:
    for text in texts:
        for form in forbidden():
            assert form not in text
        assert_no_key_material(text, key_text("new"), key_text("old"), TOKEN)


def test_secret_repr_str_and_format_are_redacted() -> None:
    secret = Secret(TOKEN)

    assert repr(secret) == "Secret('**********')"
    assert str(secret) == f"{secret}" == "**********"
    assert_redacted(repr(Secret(key_bytes("new"))), str(Secret(key_bytes("new"))))


def test_secret_in_containers_and_log_records_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret(TOKEN)

    with caplog.at_level(logging.INFO):
        logging.getLogger("vault-test").info("token %s in %r", secret, {"token": secret})

    assert_redacted(repr([secret]), repr({"token": secret}), caplog.text)


def test_secret_equality_compares_values_and_types() -> None:
    assert Secret(TOKEN) == Secret(TOKEN)
    assert Secret(TOKEN) != Secret("other")
    assert Secret("abc") != Secret(b"abc")
    assert Secret(TOKEN) != TOKEN


def test_secret_hash_is_refused() -> None:
    with pytest.raises(TypeError, match="unhashable"):
        hash(Secret(TOKEN))


def test_keyring_and_vault_repr_show_ids_only() -> None:
    keyring = parse_keyring(SETTING)
    vault = Vault(keyring)

    assert repr(vault) == "Vault(primary_id='new', key_ids=('new', 'old'))"
    assert "new" in repr(keyring)
    assert_redacted(repr(keyring), str(keyring), repr(vault), str(vault), repr(keyring.keys))


def test_sealed_and_credential_repr_hide_nonce_and_ciphertext() -> None:
    sealed = Vault(parse_keyring(SETTING)).seal("gh", "token", TOKEN)
    credential = Credential("gh", "token", sealed)

    texts = [repr(sealed), str(sealed), repr(credential), str(credential)]
    assert_redacted(*texts)
    for text in texts:
        assert sealed.ciphertext.hex() not in text
        assert repr(sealed.ciphertext) not in text
        assert repr(sealed.nonce) not in text


def test_progress_and_result_repr_hold_counts_only() -> None:
    assert repr(RotationProgress(done=True, total_seen=3, rotated=2)) == (
        "RotationProgress(done=True, total_seen=3, rotated=2)"
    )
    assert repr(RotationResult(2, 1, 3)) == "RotationResult(rotated=2, already_current=1, total=3)"


def test_opened_value_is_a_secret_until_revealed() -> None:
    vault = Vault(parse_keyring(SETTING))

    opened = vault.open("gh", "token", vault.seal("gh", "token", TOKEN))

    assert_redacted(repr(opened), str(opened))
    assert opened.reveal() == TOKEN


def test_vault_errors_name_ids_never_secrets() -> None:
    vault = Vault(parse_keyring(SETTING))
    sealed = vault.seal("gh", "token", TOKEN)

    with pytest.raises(DecryptionFailed) as failed:
        vault.open("gh", "other", sealed)
    with pytest.raises(MissingKey) as missing:
        Vault(parse_keyring(f"k9:{key_text('k9')}")).open("gh", "token", sealed)

    for error in (failed.value, missing.value):
        assert_redacted(str(error), repr(error))
        assert sealed.ciphertext.hex() not in str(error)
        assert error.__context__ is None or error.__suppress_context__
