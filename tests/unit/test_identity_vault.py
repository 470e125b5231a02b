"""The identity vault without a database: sealing, opening, key parsing and the key file."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat

import pytest
from cryptography.fernet import Fernet

from bot.config import load_settings
from storage.identity_vault import (
    IdentityKeysError, IdentityVault, NoKeys, SealBroken, key_hint, load_vault, new_key, parse_keys, read_key_file,
)

KEY_A, KEY_B = new_key(), new_key()
IDENTITY = {"name": "Nguyễn Văn An", "phone": "0912345678", "telegram_id": "987654321",
            "address": "Số 5, ngõ 12, Tổ dân phố số 3, phường Hồng Hà"}


def test_round_trip_keeps_vietnamese_text():
    vault = IdentityVault.of([KEY_A])
    token = vault.seal(IDENTITY)
    assert vault.open_(token) == IDENTITY
    assert vault.open_(bytearray(token)) == IDENTITY  # what some drivers hand back
    for needle in ("Nguyễn", "Nguyen", "0912345678", "987654321"):
        assert needle.encode() not in token and needle.encode() not in base64.urlsafe_b64decode(token)


def test_the_plaintext_is_json_with_sorted_keys():
    token = IdentityVault.of([KEY_A]).seal({"phone": "0912345678", "name": "An"})
    assert Fernet(KEY_A).decrypt(token) == json.dumps({"name": "An", "phone": "0912345678"},
                                                     separators=(",", ":")).encode()


def test_a_tampered_token_is_refused():
    vault = IdentityVault.of([KEY_A])
    raw = bytearray(base64.urlsafe_b64decode(vault.seal(IDENTITY)))
    raw[40] ^= 1  # one bit of the ciphertext
    with pytest.raises(SealBroken, match="no configured identity key opens"):
        vault.open_(base64.urlsafe_b64encode(bytes(raw)))
    with pytest.raises(SealBroken):
        vault.open_(b"not a token at all")


def test_a_wrong_key_is_refused_and_the_old_key_still_opens_after_it():
    token = IdentityVault.of([KEY_A]).seal(IDENTITY)
    with pytest.raises(SealBroken, match="HOAGIAI_IDENTITY_KEYS"):
        IdentityVault.of([KEY_B], source="HOAGIAI_IDENTITY_KEYS").open_(token)
    both = IdentityVault.of([KEY_B, KEY_A])
    assert both.open_(token) == IDENTITY
    resealed = both.reseal(token)
    assert IdentityVault.of([KEY_B]).open_(resealed) == IDENTITY
    assert both.current_hint == key_hint(KEY_B) and both.hints == (key_hint(KEY_B), key_hint(KEY_A))


def test_key_hints_are_short_stable_and_not_the_key():
    hint = key_hint(KEY_A)
    assert len(hint) == 8 and int(hint, 16) >= 0
    assert key_hint(KEY_A.encode()) == hint != key_hint(KEY_B)
    assert hint not in KEY_A


def test_no_key_in_the_vaults_repr():
    vault = IdentityVault.of([KEY_A, KEY_B], source="HOAGIAI_IDENTITY_KEYS")
    assert KEY_A not in repr(vault) and KEY_B not in repr(vault)


@pytest.mark.parametrize("text, position", [
    (f"{KEY_A},not-a-key-but-a-secret", "key 2 of 2 is not a Fernet key"),
    (f"{KEY_A},,{KEY_B}", "key 2 of 3 is empty"),
    (f"{base64.urlsafe_b64encode(b'sixteen byte key').decode()},{KEY_A}", "key 1 of 2 is not a Fernet key"),
    (f"{KEY_A[:-2]}é=", "key 1 of 1 is not a Fernet key"),
    (f"{KEY_A} , {KEY_B[:-1]}", "key 2 of 2 is not a Fernet key"),
], ids=["garbage", "empty", "16-bytes", "not-ascii", "cut-short"])
def test_a_bad_key_is_named_by_position_never_echoed(text, position):
    with pytest.raises(IdentityKeysError) as caught:
        parse_keys(text)
    message = str(caught.value)
    assert message.startswith("HOAGIAI_IDENTITY_KEYS: ") and position in message
    for part in text.split(","):
        if part.strip():
            assert part.strip() not in message
    assert caught.value.__cause__ is None and caught.value.__context__ is None  # nor in a traceback


def test_keys_are_read_in_order_with_spaces_around_them():
    assert parse_keys(f" {KEY_B} ,{KEY_A}") == [KEY_B, KEY_A]


def test_a_key_file_is_read_skipping_comments_and_its_bad_line_is_named(tmp_path):
    path = tmp_path / "identity.keys"
    path.write_text(f"# current first\n{KEY_B}\n\n{KEY_A}\n", encoding="ascii")
    assert read_key_file(path) == [KEY_B, KEY_A]
    path.write_text(f"{KEY_B}\n# old\nsecret-looking-garbage\n", encoding="ascii")
    with pytest.raises(IdentityKeysError, match=r"identity.keys line 3: not a Fernet key") as caught:
        read_key_file(path)
    assert "secret-looking-garbage" not in str(caught.value) and KEY_B not in str(caught.value)
    path.write_text("# nothing\n\n", encoding="ascii")
    with pytest.raises(IdentityKeysError, match="holds no key"):
        read_key_file(path)


def test_the_variable_wins_over_the_key_file(tmp_path):
    key_file = tmp_path / "data" / "identity.keys"
    vault = load_vault(f"{KEY_B},{KEY_A}", key_file, create=True)
    assert (vault.hints, vault.source) == ((key_hint(KEY_B), key_hint(KEY_A)), "HOAGIAI_IDENTITY_KEYS")
    assert not key_file.exists()


def test_a_missing_key_file_is_created_0600_once_with_a_warning_then_reused(tmp_path, caplog):
    key_file = tmp_path / "data" / "identity.keys"
    with caplog.at_level(logging.WARNING, logger="hoagiai.identity"):
        first = load_vault(None, key_file, create=True)
        again = load_vault("  ", key_file, create=True)  # a blank variable is unset
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.hints == again.hints and len(first.hints) == 1 and first.source == str(key_file)
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "back this file up" in message and "HOAGIAI_IDENTITY_KEYS" in message and str(key_file) in message
    (key,) = read_key_file(key_file)
    assert key not in caplog.text
    assert [p.name for p in key_file.parent.iterdir()] == ["identity.keys"]  # no temporary file left


def test_an_existing_key_file_is_used_as_it_is(tmp_path, caplog):
    key_file = tmp_path / "identity.keys"
    key_file.write_text(f"{KEY_A}\n", encoding="ascii")
    os.chmod(key_file, 0o640)
    with caplog.at_level(logging.WARNING):
        vault = load_vault(None, key_file, create=True)
    assert vault.hints == (key_hint(KEY_A),) and key_file.read_text() == f"{KEY_A}\n" and not caplog.records


def test_without_create_a_missing_key_file_is_an_error_and_not_made(tmp_path):
    key_file = tmp_path / "identity.keys"
    with pytest.raises(NoKeys, match="HOAGIAI_IDENTITY_KEYS is not set"):
        load_vault(None, key_file, create=False)
    assert not key_file.exists()


def test_the_settings(monkeypatch):
    monkeypatch.delenv("HOAGIAI_IDENTITY_KEY_FILE", raising=False)
    monkeypatch.setenv("HOAGIAI_IDENTITY_KEYS", "")
    settings = load_settings(_env_file=None)
    assert settings.identity_keys is None
    assert str(settings.identity_key_file) == "data/identity.keys"  # next to the default database
    monkeypatch.setenv("HOAGIAI_IDENTITY_KEYS", f"{KEY_B},{KEY_A}")
    monkeypatch.setenv("HOAGIAI_IDENTITY_KEY_FILE", "/etc/hoagiai/identity.keys")
    settings = load_settings(_env_file=None)
    assert settings.identity_keys.get_secret_value() == f"{KEY_B},{KEY_A}"
    assert KEY_A not in repr(settings) and str(settings.identity_key_file) == "/etc/hoagiai/identity.keys"
