"""Receipt codes, PINs and the lockout rule (handlers.domain.receipts): pure, no database."""

from __future__ import annotations

import hashlib
import math
import re
from datetime import datetime, timedelta, timezone

import pytest

from handlers.domain import receipts
from handlers.domain.receipts import (
    ALPHABET, LOCK, MAX_TRIES, attempt, check_pin, hash_pin, new_code, new_pin, normalise_code, receipt_hash,
)

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)
CODE_SHAPE = re.compile(rf"^TB-[{ALPHABET}]{{5}}-[{ALPHABET}]{{5}}-[{ALPHABET}]{{5}}$")


# --- receipt codes ------------------------------------------------------------------------------

def test_alphabet_has_no_ambiguous_symbols():
    assert not set("0O1IL") & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET) == 31


def test_codes_have_the_shape_and_at_least_60_bits():
    codes = [new_code() for _ in range(500)]
    assert all(CODE_SHAPE.match(code) for code in codes)
    assert len(set(codes)) == len(codes)
    assert receipts.CODE_SYMBOLS * math.log2(len(ALPHABET)) >= 60
    used = {ch for code in codes for ch in code[3:].replace("-", "")}
    assert used == set(ALPHABET)  # every symbol turns up: the choice is over the whole alphabet


@pytest.mark.parametrize("typed", [
    "TB-7KX9Q-2QMFA-H3RZ8",
    "tb-7kx9q-2qmfa-h3rz8",
    "  tb 7kx9q 2qmfa h3rz8 ",
    "7KX9Q2QMFAH3RZ8",
    "7kx9q-2qmfa-h3rz8",
    "TB–7KX9Q—2QMFA_H3RZ8",  # en and em dashes, underscore
    "ＴＢ－７ＫＸ９Ｑ－２ＱＭＦＡ－Ｈ３ＲＺ８",  # full-width, as some Vietnamese keyboards type
])
def test_what_users_type_normalises_to_the_code(typed):
    assert normalise_code(typed) == "TB-7KX9Q-2QMFA-H3RZ8"
    assert receipt_hash(typed) == receipt_hash("TB-7KX9Q-2QMFA-H3RZ8")


@pytest.mark.parametrize("typed", ["", "TB", "TB-7KX9Q-2QMFA", "TB-7KX9Q-2QMFA-H3RZ8X", "TB-7KX9O-2QMFA-H3RZ8",
                                   "TB-7KX9Q-2QMFA-H3RZ1", "XX-7KX9Q-2QMFA-H3RZ8", "đ" * 15])
def test_malformed_codes_are_refused(typed):
    assert normalise_code(typed) is None


def test_receipt_hash_is_sha256_hex_of_the_canonical_code():
    code = new_code()
    digest = receipt_hash(code.lower().replace("-", " "))
    assert digest == hashlib.sha256(code.encode()).hexdigest()
    assert len(digest) == 64 and code not in digest
    assert receipt_hash(new_code()) != digest


# --- PINs ---------------------------------------------------------------------------------------

def test_pins_are_six_digits():
    pins = [new_pin() for _ in range(200)]
    assert all(len(pin) == 6 and pin.isdigit() for pin in pins)
    assert len(set(pins)) > 150


def test_pin_hash_round_trip():
    pin = "042917"
    stored = hash_pin(pin)
    assert check_pin(pin, stored)
    assert check_pin("０４２９１７", stored)  # full-width digits
    assert check_pin(" 042 917 ", stored)
    assert not check_pin("042918", stored)
    assert not check_pin("", stored)


def test_stored_hash_is_salted_and_does_not_hold_the_pin():
    pin = "123456"
    first, second = hash_pin(pin), hash_pin(pin)
    assert first != second  # salted
    assert pin not in first and pin not in second
    assert first.startswith("scrypt$") and len(first) <= 255  # fits tipoffs.pin_hash
    scheme, n, r, p, _salt, _digest = first.split("$")
    assert (int(n), int(r), int(p)) == (receipts.SCRYPT_N, receipts.SCRYPT_R, receipts.SCRYPT_P)


@pytest.mark.parametrize("stored", ["", "plain", "scrypt$1$2$3", "bcrypt$16384$8$1$AAAA$AAAA",
                                    "scrypt$x$8$1$AAAA$AAAA", "scrypt$16384$8$1$!!$AAAA"])
def test_malformed_stored_hash_never_matches(stored):
    assert not check_pin("123456", stored)


def test_dummy_hash_matches_no_pin():
    assert receipts.dummy_pin_hash() == receipts.dummy_pin_hash()
    assert not check_pin("000000", receipts.dummy_pin_hash())


# --- the lockout rule ---------------------------------------------------------------------------

LATER = NOW + LOCK


@pytest.mark.parametrize(("failed", "locked_until", "now", "ok", "expected"), [
    (0, None, NOW, True, (0, None, "ok")),
    (3, None, NOW, True, (0, None, "ok")),  # success resets the count
    (0, None, NOW, False, (1, None, "wrong")),
    (MAX_TRIES - 2, None, NOW, False, (MAX_TRIES - 1, None, "wrong")),
    (MAX_TRIES - 1, None, NOW, False, (MAX_TRIES, LATER, "locked")),  # the 5th wrong PIN locks for an hour
    (MAX_TRIES, LATER, NOW + timedelta(minutes=59), True, (MAX_TRIES, LATER, "locked")),  # right PIN refused
    (MAX_TRIES, LATER, NOW + timedelta(minutes=30), False, (MAX_TRIES, LATER, "locked")),  # lock not extended
    (MAX_TRIES, LATER, LATER, True, (0, None, "ok")),  # unlocked after an hour
    (MAX_TRIES, LATER, LATER + timedelta(seconds=1), False, (1, None, "wrong")),  # a fresh count
])
def test_lockout_rule(failed, locked_until, now, ok, expected):
    assert attempt(failed, locked_until, now, ok) == expected


def test_five_wrong_then_locked_for_an_hour():
    failed, locked_until, outcomes = 0, None, []
    for minute in range(MAX_TRIES):
        failed, locked_until, outcome = attempt(failed, locked_until, NOW + timedelta(minutes=minute), False)
        outcomes.append(outcome)
    assert outcomes == ["wrong"] * (MAX_TRIES - 1) + ["locked"]
    assert locked_until == NOW + timedelta(minutes=MAX_TRIES - 1) + LOCK
    assert attempt(failed, locked_until, locked_until - timedelta(seconds=1), True)[2] == "locked"
    assert attempt(failed, locked_until, locked_until, True) == (0, None, "ok")
    assert receipts.tries_left(0) == MAX_TRIES and receipts.tries_left(MAX_TRIES + 3) == 0
