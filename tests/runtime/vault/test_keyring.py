"""Parsing HUB_SECRET_KEY into a keyring: both forms, and errors that never quote a key."""

from __future__ import annotations

import base64
import hashlib

import pytest

from runtime.vault import Keyring, Secret, VaultConfigError, generate_key, key_id_for, parse_keyring
from tests.runtime.vault.keys import assert_no_key_material, key_bytes, key_text

A, B = key_text("a"), key_text("b")
SHORT = key_text("short", length=24)
ID_RULE = "the key id must be 1-32 characters of A-Z, a-z, 0-9, '_' or '-'"


def test_parse_keyring_single_key_derives_id_from_key_hash() -> None:
    keyring = parse_keyring(A)

    expected_id = hashlib.sha256(key_bytes("a")).hexdigest()[:8]
    assert keyring.primary_id == expected_id == key_id_for(key_bytes("a"))
    assert keyring.key_ids == (expected_id,)
    assert keyring.keys[expected_id].reveal() == key_bytes("a")
    assert_no_key_material(expected_id, A)


@pytest.mark.parametrize(
    "form",
    [
        base64.b64encode(bytes([0xFB, 0xFF] * 16)).decode(),
        base64.urlsafe_b64encode(bytes([0xFB, 0xFF] * 16)).decode(),
        base64.urlsafe_b64encode(bytes([0xFB, 0xFF] * 16)).decode().rstrip("="),
        f"  {base64.b64encode(bytes([0xFB, 0xFF] * 16)).decode()}\n",
    ],
    ids=["standard", "urlsafe", "unpadded", "surrounding-whitespace"],
)
def test_parse_keyring_single_key_accepts_every_base64_form(form: str) -> None:
    keyring = parse_keyring(form)

    assert keyring.keys[keyring.primary_id].reveal() == bytes([0xFB, 0xFF] * 16)


def test_parse_keyring_multiple_keys_makes_first_primary() -> None:
    keyring = parse_keyring(f"new:{A},old:{B}")

    assert keyring.primary_id == "new"
    assert keyring.key_ids == ("new", "old")
    assert keyring.keys["new"].reveal() == key_bytes("a")
    assert keyring.keys["old"].reveal() == key_bytes("b")


def test_parse_keyring_multiple_keys_tolerates_whitespace_around_parts() -> None:
    keyring = parse_keyring(f" new : {A} ,\n old:{B}\n")

    assert keyring == parse_keyring(f"new:{A},old:{B}")


def test_parse_keyring_same_setting_gives_equal_keyrings() -> None:
    assert parse_keyring(f"k1:{A}") == parse_keyring(f"k1:{A}")
    assert parse_keyring(f"k1:{A}") != parse_keyring(f"k1:{B}")
    assert hash(parse_keyring(f"k1:{A}")) == hash(parse_keyring(f"k1:{A}"))


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("", "HUB_SECRET_KEY is empty: give a base64 32-byte key or kid:BASE64,..."),
        (" \n", "HUB_SECRET_KEY is empty: give a base64 32-byte key or kid:BASE64,..."),
        (f"{A[:20]}!{A[21:]}", "HUB_SECRET_KEY: the key is not valid base64"),
        (f"{A[:20]} {A[21:]}", "HUB_SECRET_KEY: the key is not valid base64"),
        (A[:-3], "HUB_SECRET_KEY: the key is not valid base64"),
        (A[:-5], "HUB_SECRET_KEY: the key is 29 bytes, expected 32"),
        (SHORT, "HUB_SECRET_KEY: the key is 24 bytes, expected 32"),
        (f"k1:{A},k2:{SHORT}", "HUB_SECRET_KEY: key 'k2' is 24 bytes, expected 32"),
        (f"k1:{A},k2:{B}{B}", "HUB_SECRET_KEY: key 'k2' is not valid base64"),
        (f"k1:{A},k2:{B[:-4]}", "HUB_SECRET_KEY: key 'k2' is 30 bytes, expected 32"),
        (f"k1:{A},k2:{B}*", "HUB_SECRET_KEY: key 'k2' is not valid base64"),
        (f"k1:{A},k1:{B}", "HUB_SECRET_KEY: key id 'k1' appears more than once"),
        (f"k1:{A},", "HUB_SECRET_KEY: entry 2 is empty"),
        (f"k1:{A},,k2:{B}", "HUB_SECRET_KEY: entry 2 is empty"),
        (f"k1:{A},{B}", "HUB_SECRET_KEY: entry 2 is not in the form id:BASE64"),
        ("k1:", "HUB_SECRET_KEY: key 'k1' is empty"),
        (f":{A}", f"HUB_SECRET_KEY: entry 1: {ID_RULE}"),
        (f"bad id:{A}", f"HUB_SECRET_KEY: entry 1: {ID_RULE}"),
        (f"k1:{A},{'x' * 33}:{B}", f"HUB_SECRET_KEY: entry 2: {ID_RULE}"),
        (f"{A}:{B}", f"HUB_SECRET_KEY: entry 1: {ID_RULE}"),
    ],
    ids=[
        "empty",
        "blank",
        "bad-character",
        "inner-space",
        "truncated-mid-quantum",
        "truncated",
        "wrong-length",
        "keyring-wrong-length",
        "keyring-two-keys-joined",
        "keyring-short-key",
        "keyring-bad-character",
        "duplicate-id",
        "trailing-comma",
        "empty-entry",
        "entry-without-id",
        "entry-without-key",
        "empty-id",
        "id-with-space",
        "id-too-long",
        "key-pasted-as-id",
    ],
)
def test_parse_keyring_bad_setting_names_problem_without_key_material(
    setting: str, message: str
) -> None:
    with pytest.raises(VaultConfigError) as caught:
        parse_keyring(setting)

    assert str(caught.value) == message
    assert_no_key_material(str(caught.value), A, B, SHORT)
    error = caught.value
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


def test_parse_keyring_error_names_given_source() -> None:
    with pytest.raises(VaultConfigError, match=r"^key file /etc/hub\.key: the key is 24 bytes"):
        parse_keyring(SHORT, source="key file /etc/hub.key")


def test_keyring_without_its_primary_is_refused() -> None:
    with pytest.raises(VaultConfigError, match="primary key 'k2' is not in it"):
        Keyring("k2", {"k1": Secret(key_bytes("a"))})


def test_keyring_with_wrong_length_key_is_refused() -> None:
    with pytest.raises(VaultConfigError, match=r"^keyring: key 'k1' is 16 bytes, expected 32$"):
        Keyring("k1", {"k1": Secret(key_bytes("a", 16))})


def test_keyring_with_bad_id_is_refused() -> None:
    with pytest.raises(VaultConfigError, match="the key id must be"):
        Keyring("a b", {"a b": Secret(key_bytes("a"))})


def test_keyring_keys_cannot_be_changed_after_construction() -> None:
    given = {"k1": Secret(key_bytes("a"))}
    keyring = Keyring("k1", given)
    given["k2"] = Secret(key_bytes("b"))

    assert keyring.key_ids == ("k1",)
    with pytest.raises(TypeError):
        keyring.keys["k3"] = Secret(key_bytes("c"))  # type: ignore[index]


def test_generate_key_gives_urlsafe_32_byte_key_that_parses() -> None:
    first, second = generate_key(), generate_key()

    assert first != second
    assert len(base64.urlsafe_b64decode(first)) == 32
    assert set(first) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")
    assert parse_keyring(first).keys[key_id_for(base64.urlsafe_b64decode(first))]
