"""Sealing and opening: round trips, nonces, binding to integration and field, tampering."""

from __future__ import annotations

import dataclasses

import pytest

from runtime.vault import (
    DecryptionFailed,
    MissingKey,
    SealedValue,
    Secret,
    Vault,
    associated_data,
    parse_keyring,
)
from tests.runtime.vault.keys import key_text, keyring

TOKEN = "shpat_0123456789abcdef"


@pytest.fixture
def vault() -> Vault:
    return Vault(keyring("k1"))


def flip(data: bytes, index: int) -> bytes:
    changed = bytearray(data)
    changed[index] ^= 0x01
    return bytes(changed)


@pytest.mark.parametrize("plaintext", [TOKEN, "", "pässwörd ✓ 🔑", "x" * 10_000])
def test_open_sealed_value_round_trips(vault: Vault, plaintext: str) -> None:
    sealed = vault.seal("shop-eu", "api_token", plaintext)

    assert vault.open("shop-eu", "api_token", sealed).reveal() == plaintext


def test_seal_secret_plaintext_round_trips(vault: Vault) -> None:
    sealed = vault.seal("shop-eu", "api_token", Secret(TOKEN))

    assert vault.open("shop-eu", "api_token", sealed) == Secret(TOKEN)


def test_seal_uses_primary_key_and_12_byte_nonce() -> None:
    vault = Vault(keyring("new", "old"))

    sealed = vault.seal("shop-eu", "api_token", TOKEN)

    assert sealed.key_id == "new"
    assert len(sealed.nonce) == 12
    assert len(sealed.ciphertext) == len(TOKEN) + 16
    assert TOKEN.encode() not in sealed.ciphertext


def test_seal_same_value_twice_uses_different_nonces(vault: Vault) -> None:
    sealed = [vault.seal("shop-eu", "api_token", TOKEN) for _ in range(100)]

    assert len({value.nonce for value in sealed}) == 100
    assert len({value.ciphertext for value in sealed}) == 100


@pytest.mark.parametrize(
    ("integration_id", "field"),
    [("shop-us", "api_token"), ("shop-eu", "webhook_secret"), ("shop-us", "webhook_secret")],
    ids=["other-integration", "other-field", "both"],
)
def test_open_under_other_integration_or_field_fails(
    vault: Vault, integration_id: str, field: str
) -> None:
    sealed = vault.seal("shop-eu", "api_token", TOKEN)

    with pytest.raises(DecryptionFailed) as caught:
        vault.open(integration_id, field, sealed)

    error = caught.value
    assert (error.integration_id, error.field, error.key_id) == (integration_id, field, "k1")
    assert f"credential {field!r} of integration {integration_id!r}" in str(error)


@pytest.mark.parametrize(
    ("sealed_as", "opened_as"),
    [(("a|b", "c"), ("a", "b|c")), (("ab", "c"), ("a", "bc")), (("a", ""), ("", "a"))],
)
def test_open_with_parts_joined_differently_fails(
    vault: Vault, sealed_as: tuple[str, str], opened_as: tuple[str, str]
) -> None:
    sealed = vault.seal(*sealed_as, TOKEN)

    assert associated_data(*sealed_as) != associated_data(*opened_as)
    with pytest.raises(DecryptionFailed):
        vault.open(*opened_as, sealed)


def test_associated_data_is_length_prefixed_with_context() -> None:
    assert associated_data("shop", "token") == (
        b"\x00\x00\x00\x1dintegration-hub/credential/v1\x00\x00\x00\x04shop\x00\x00\x00\x05token"
    )


@pytest.mark.parametrize("index", [0, 5, -17, -16, -1])
def test_open_tampered_ciphertext_fails(vault: Vault, index: int) -> None:
    sealed = vault.seal("shop-eu", "api_token", TOKEN)
    tampered = dataclasses.replace(sealed, ciphertext=flip(sealed.ciphertext, index))

    with pytest.raises(DecryptionFailed):
        vault.open("shop-eu", "api_token", tampered)


@pytest.mark.parametrize(
    "ciphertext", [b"", b"\x00" * 15, b"\x00" * 16], ids=["empty", "short", "tag-only"]
)
def test_open_truncated_or_forged_ciphertext_fails(vault: Vault, ciphertext: bytes) -> None:
    sealed = dataclasses.replace(vault.seal("shop-eu", "api_token", TOKEN), ciphertext=ciphertext)

    with pytest.raises(DecryptionFailed):
        vault.open("shop-eu", "api_token", sealed)


@pytest.mark.parametrize(
    "nonce",
    [b"", b"\x00" * 8, b"\x00" * 12, b"\x00" * 13],
    ids=["empty", "short", "other", "long"],
)
def test_open_tampered_nonce_fails(vault: Vault, nonce: bytes) -> None:
    sealed = dataclasses.replace(vault.seal("shop-eu", "api_token", TOKEN), nonce=nonce)

    with pytest.raises(DecryptionFailed):
        vault.open("shop-eu", "api_token", sealed)


def test_open_flipped_nonce_bit_fails(vault: Vault) -> None:
    sealed = vault.seal("shop-eu", "api_token", TOKEN)

    with pytest.raises(DecryptionFailed):
        vault.open("shop-eu", "api_token", dataclasses.replace(sealed, nonce=flip(sealed.nonce, 0)))


def test_open_with_different_key_under_same_id_fails() -> None:
    sealed = Vault(parse_keyring(f"k1:{key_text('a')}")).seal("shop-eu", "api_token", TOKEN)

    with pytest.raises(DecryptionFailed, match="a different key under that id"):
        Vault(parse_keyring(f"k1:{key_text('b')}")).open("shop-eu", "api_token", sealed)


def test_open_under_missing_key_id_names_the_id() -> None:
    sealed = Vault(keyring("k1")).seal("shop-eu", "api_token", TOKEN)

    with pytest.raises(MissingKey) as caught:
        Vault(keyring("k2")).open("shop-eu", "api_token", sealed)

    assert caught.value.key_id == "k1"
    assert str(caught.value) == (
        "credential sealed with key 'k1', which is not in the keyring (HUB_SECRET_KEY)"
    )


def test_open_under_non_primary_key_succeeds() -> None:
    sealed = Vault(keyring("old")).seal("shop-eu", "api_token", TOKEN)

    assert Vault(keyring("new", "old")).open("shop-eu", "api_token", sealed).reveal() == TOKEN


def test_check_lists_missing_key_ids_sorted_once() -> None:
    values = [
        Vault(keyring(key_id)).seal("shop", "token", TOKEN)
        for key_id in ["k3", "k1", "k2", "k3", "k9"]
    ]

    assert Vault(keyring("k2", "k9")).check(values) == ["k1", "k3"]


def test_check_all_keys_present_returns_empty(vault: Vault) -> None:
    values = [vault.seal("shop", field, TOKEN) for field in ["a", "b"]]

    assert vault.check(values) == []
    assert vault.check([]) == []


def test_needs_rotation_true_only_for_non_primary_key() -> None:
    old = Vault(keyring("old")).seal("shop", "token", TOKEN)
    new = Vault(keyring("new")).seal("shop", "token", TOKEN)
    vault = Vault(keyring("new", "old"))

    assert vault.needs_rotation(old)
    assert not vault.needs_rotation(new)


def test_reseal_moves_value_to_primary_key() -> None:
    old = Vault(keyring("old")).seal("shop", "token", TOKEN)

    resealed = Vault(keyring("new", "old")).reseal("shop", "token", old)

    assert resealed.key_id == "new"
    assert resealed.nonce != old.nonce
    assert Vault(keyring("new")).open("shop", "token", resealed).reveal() == TOKEN


def test_reseal_under_other_field_fails_without_resealing() -> None:
    old = Vault(keyring("old")).seal("shop", "token", TOKEN)

    with pytest.raises(DecryptionFailed):
        Vault(keyring("new", "old")).reseal("shop", "secret", old)


def test_vault_exposes_its_keyring() -> None:
    ring = keyring("new", "old")

    assert Vault(ring).keyring is ring


def test_sealed_value_is_plain_stored_form(vault: Vault) -> None:
    sealed = vault.seal("shop", "token", TOKEN)
    copy = SealedValue(sealed.key_id, sealed.nonce, sealed.ciphertext)

    assert vault.open("shop", "token", copy).reveal() == TOKEN
