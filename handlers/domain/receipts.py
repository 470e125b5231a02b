"""Tip-off receipts: the code and PIN a reporter is shown once, and the rules for checking them.

Only hashes are stored. The receipt code carries ~74 bits from `secrets`, so a plain sha256 is
enough to find it and cannot be reversed by guessing; the 6-digit PIN is short, so it gets a
slow salted hash (scrypt), and wrong PINs are rate-limited per receipt (`attempt`). Nothing here
logs or puts a code or PIN into an exception message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import unicodedata
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal

# No 0/O, 1/I/L: a code read aloud or copied from paper has one reading. 31 symbols.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
PREFIX = "TB"  # "tin báo"
GROUPS, GROUP_SIZE = 3, 5  # 15 symbols: 15 * log2(31) ≈ 74 bits
CODE_SYMBOLS = GROUPS * GROUP_SIZE
PIN_DIGITS = 6

MAX_TRIES = 5
LOCK = timedelta(hours=1)

# scrypt cost: ~16 MiB and tens of milliseconds per check; stored with each hash so it can grow.
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_SALT, SCRYPT_LEN = 2 ** 14, 8, 1, 16, 32

Outcome = Literal["ok", "wrong", "locked"]


def new_code() -> str:
    """A fresh receipt code, e.g. "TB-7KX9Q-2QMFA-H3RZ8"."""
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(CODE_SYMBOLS))
    return _format(symbols)


def _format(symbols: str) -> str:
    groups = [symbols[i:i + GROUP_SIZE] for i in range(0, CODE_SYMBOLS, GROUP_SIZE)]
    return "-".join([PREFIX, *groups])


def normalise_code(text: str) -> str | None:
    """The canonical code for what a user typed, or None when it cannot be one.

    Accepts any case, spaces, dashes (any kind) and full-width characters from Vietnamese
    keyboards (NFKC); the "TB" prefix is optional."""
    folded = unicodedata.normalize("NFKC", text).upper()
    symbols = "".join(ch for ch in folded if ch.isalnum())
    if len(symbols) == CODE_SYMBOLS + len(PREFIX) and symbols.startswith(PREFIX):
        symbols = symbols[len(PREFIX):]
    if len(symbols) != CODE_SYMBOLS or any(ch not in ALPHABET for ch in symbols):
        return None
    return _format(symbols)


def receipt_hash(code: str) -> str:
    """sha256 hex of the canonical code; a code that is not well formed hashes as typed (it
    matches nothing, but costs the caller the same)."""
    canonical = normalise_code(code) or code
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def new_pin() -> str:
    return f"{secrets.randbelow(10 ** PIN_DIGITS):0{PIN_DIGITS}d}"


def normalise_pin(text: str) -> str:
    """Full-width digits and spaces as typed on a phone keyboard -> plain digits."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(normalise_pin(pin).encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=128 * r * (n + p + 2) + 1024 * 1024, dklen=length)


def hash_pin(pin: str) -> str:
    """"scrypt$n$r$p$salt$hash" (base64): the parameters travel with the hash."""
    salt = secrets.token_bytes(SCRYPT_SALT)
    digest = _scrypt(pin, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_pin(pin: str, stored: str) -> bool:
    """Constant-time comparison; a malformed stored hash is simply no match."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = _scrypt(pin, base64.b64decode(salt, validate=True), int(n), int(r), int(p), len(expected))
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(actual, expected)


@lru_cache(maxsize=1)
def dummy_pin_hash() -> str:
    """A hash no PIN is checked against for real: an unknown code costs the same as a wrong PIN."""
    return hash_pin(secrets.token_hex(16))


def attempt(failed_pins: int, locked_until: datetime | None, now: datetime,
            ok: bool) -> tuple[int, datetime | None, Outcome]:
    """One PIN attempt on a receipt -> (failed count, locked until, outcome).

    While locked every attempt is refused, the right PIN too, and the lock is not extended;
    once it has passed the count starts afresh. The MAX_TRIES-th wrong PIN locks for LOCK.
    Success resets the count."""
    if locked_until is not None and now < locked_until:
        return failed_pins, locked_until, "locked"
    if locked_until is not None:
        failed_pins = 0
    if ok:
        return 0, None, "ok"
    failed_pins += 1
    if failed_pins >= MAX_TRIES:
        return failed_pins, now + LOCK, "locked"
    return failed_pins, None, "wrong"


def tries_left(failed_pins: int) -> int:
    return max(MAX_TRIES - failed_pins, 0)
