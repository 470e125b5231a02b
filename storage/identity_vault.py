"""Sealed identities: who a confidential reporter is, encrypted at rest and kept apart from cases.

The law protects a denouncer's name, address and other personal details (Luật Tố cáo 2018,
Điều 9, 47); a database dump, a backup or an officer with SQL access must not reveal them. An
identity is a small dict (name, phone, platform account, ...) stored as JSON sealed with Fernet
(AES-128-CBC + HMAC-SHA256) in `sealed_identities`; the case only points at the row.

Keys: MultiFernet over the configured keys, the first seals, all open, so a new key can be put
first, the rows re-sealed with it (`hoagiai keys rotate`), and the old key dropped. Each row keeps
a short, non-secret fingerprint of the key that sealed it (`key_hint`). Key values never go to a
log, an error message or a repr.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.ports import SealBroken  # the core catches it; importable from here too
from storage.tables import SealedIdentityRow

log = logging.getLogger("hoagiai.identity")

KEYS_VARIABLE = "HOAGIAI_IDENTITY_KEYS"
KEY_SHAPE = "not a Fernet key (32 bytes in url-safe base64, 44 characters; `hoagiai keys generate` makes one)"
KEY_FILE_HEADER = (
    "# hoagiai identity keys, one a line: the first seals new identities, every one opens them.\n"
    "# Back this file up: identities sealed with a key cannot be opened without it.\n"
)


class IdentityKeysError(ValueError):
    """The configured keys cannot be used; the message says where (variable or file, position), never the key."""


class NoKeys(IdentityKeysError):
    """No key is configured and none may be created here (the key commands never create one)."""


class VaultMissing(RuntimeError):
    """The unit of work was made without a vault, so it cannot seal or open identities."""


def key_hint(key: str | bytes) -> str:
    """A short, non-secret fingerprint of a key: the first 8 hex digits of its sha256.

    Shown by `hoagiai keys status` and stored with each row, so an operator can tell which key
    sealed what without ever seeing a key. Also `printf %s KEY | sha256sum | cut -c1-8`."""
    text = key.decode("ascii") if isinstance(key, bytes) else key
    return hashlib.sha256(text.strip().encode("ascii")).hexdigest()[:8]


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def _is_fernet_key(text: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(text.encode("ascii"))) == 32
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False


def parse_keys(text: str, source: str = KEYS_VARIABLE) -> list[str]:
    """"key1,key2" -> the keys in order. A bad or empty entry raises IdentityKeysError naming
    `source` and its position; the entry itself is never part of the message."""
    parts = [part.strip() for part in text.split(",")]
    for position, part in enumerate(parts, start=1):
        if not part:
            raise IdentityKeysError(f"{source}: key {position} of {len(parts)} is empty (keys are separated by commas)")
        if not _is_fernet_key(part):
            raise IdentityKeysError(f"{source}: key {position} of {len(parts)} is {KEY_SHAPE}")
    return parts


def read_key_file(path: Path) -> list[str]:
    """The keys of a key file, one a line (blank lines and `#` comments skipped), in order."""
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except UnicodeDecodeError:
        raise IdentityKeysError(f"{path}: not a key file (keys are plain ASCII)") from None
    except OSError as error:
        raise IdentityKeysError(f"{path}: cannot read the key file: {error.strerror or error}") from None
    keys = []
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not _is_fernet_key(line):
            raise IdentityKeysError(f"{path} line {number}: {KEY_SHAPE}")
        keys.append(line)
    if not keys:
        raise IdentityKeysError(f"{path}: the key file holds no key")
    return keys


def _create_key_file(path: Path) -> bool:
    """Writes a key file with one new key, mode 0600; False when another process made it first.

    Written aside and hard-linked into place, so nobody ever reads a half-written file and two
    processes starting at once end up with the same key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".identity-", suffix=".tmp")  # mode 0600
    try:
        os.fchmod(handle, 0o600)
        os.write(handle, f"{KEY_FILE_HEADER}{new_key()}\n".encode("ascii"))
        os.fsync(handle)
        os.close(handle)
        handle = -1
        os.link(temporary, path)
        return True
    except FileExistsError:
        return False
    finally:
        if handle != -1:
            os.close(handle)
        os.unlink(temporary)


def load_vault(env_keys: str | None, key_file: Path, *, create: bool) -> IdentityVault:
    """The vault of the configured keys: `env_keys` (HOAGIAI_IDENTITY_KEYS) when set, else the
    key file; when neither and `create`, a new key file (the demo on a fresh machine), with a
    warning, since losing that file loses every identity sealed with it."""
    if env_keys is not None and env_keys.strip():
        return IdentityVault.of(parse_keys(env_keys), source=KEYS_VARIABLE)
    if not key_file.exists():
        if not create:
            raise NoKeys(f"no identity keys: {KEYS_VARIABLE} is not set and the key file {key_file} does not "
                         f"exist (the bot creates it with a new key when it first starts)")
        if _create_key_file(key_file):
            log.warning("identity_key_file_created path=%s: back this file up (sealed identities cannot be opened "
                        "without it); in production set %s, the same on every worker", key_file, KEYS_VARIABLE)
    return IdentityVault.of(read_key_file(key_file), source=str(key_file))


@dataclass(frozen=True)
class IdentityVault:
    """Seals and opens identities with the configured keys; holds no key in its repr."""

    fernet: MultiFernet
    hints: tuple[str, ...]  # of the configured keys, in order; the first is the current key's
    source: str = ""  # where the keys came from (the variable or the file), for messages

    @classmethod
    def of(cls, keys: Sequence[str], source: str = "") -> IdentityVault:
        if not keys:
            raise IdentityKeysError(f"{source or 'identity keys'}: no key")
        return cls(MultiFernet([Fernet(key.encode("ascii")) for key in keys]), tuple(key_hint(k) for k in keys), source)

    @property
    def current_hint(self) -> str:
        return self.hints[0]

    def seal(self, data: dict[str, Any]) -> bytes:
        """JSON with sorted keys (same data, same plaintext), encrypted with the current key."""
        plain = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return self.fernet.encrypt(plain)

    def open_(self, token: bytes) -> dict[str, Any]:
        """Raises SealBroken when no configured key opens `token` (or it was altered)."""
        try:
            plain = self.fernet.decrypt(bytes(token))
        except InvalidToken:
            raise SealBroken("no configured identity key opens this sealed identity (the key that sealed it is "
                             f"not in {self.source or 'the configured keys'}, or the data was altered)") from None
        return json.loads(plain.decode("utf-8"))

    def reseal(self, token: bytes) -> bytes:
        """The same identity sealed with the current key; raises SealBroken like `open_`."""
        try:
            return self.fernet.rotate(bytes(token))
        except InvalidToken:
            raise SealBroken("no configured identity key opens this sealed identity") from None


class SqlIdentityRepo:
    """`uow.identities`: add, read and delete sealed identities (handlers.ports.IdentityRepo)."""

    def __init__(self, session: AsyncSession, vault: IdentityVault | None) -> None:
        self.session = session
        self._vault = vault

    @property
    def vault(self) -> IdentityVault:
        if self._vault is None:
            raise VaultMissing("this unit of work has no identity vault: build the factory with "
                               "make_uow_factory(engine, vault) (bot.bootstrap does, from the settings)")
        return self._vault

    async def add(self, data: dict[str, Any], now: datetime) -> int:
        vault = self.vault
        row = SealedIdentityRow(sealed=vault.seal(data), key_hint=vault.current_hint, created_at=now)
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def get(self, identity_id: int) -> dict[str, Any] | None:
        """None when no such row (deleted); SealBroken when no configured key opens it."""
        vault = self.vault
        sealed = (await self.session.execute(
            select(SealedIdentityRow.sealed).where(SealedIdentityRow.id == identity_id))).scalar_one_or_none()
        if sealed is None:
            return None
        try:
            return vault.open_(sealed)
        except SealBroken as error:
            raise SealBroken(f"sealed identity {identity_id}: {error}") from None

    async def delete(self, identity_id: int) -> None:
        await self.session.execute(delete(SealedIdentityRow).where(SealedIdentityRow.id == identity_id))

    def seal_token(self, data: dict[str, Any]) -> str:
        """`data` sealed as text, kept by the caller (nothing stored here)."""
        return self.vault.seal(data).decode("ascii")

    def open_token(self, token: str, max_age_seconds: int) -> dict[str, Any] | None:
        """What `seal_token` sealed, or None when it is older than `max_age_seconds`, altered,
        or sealed with a key no longer configured."""
        try:
            plain = self.vault.fernet.decrypt(token.encode("ascii"), ttl=max_age_seconds)
        except (InvalidToken, UnicodeEncodeError):
            return None
        return json.loads(plain.decode("utf-8"))


# --- key maintenance (`hoagiai keys`) ------------------------------------------------------------

async def hint_counts(session: AsyncSession) -> dict[str, int]:
    """How many sealed identities each key (by hint) sealed."""
    rows = await session.execute(
        select(SealedIdentityRow.key_hint, func.count()).group_by(SealedIdentityRow.key_hint))
    return {hint: count for hint, count in rows.all()}


@dataclass(frozen=True)
class RotatedBatch:
    last_id: int | None  # the batch's last row id, None when no row was left to rotate
    rotated: int
    broken: tuple[int, ...] = ()  # rows no key opens: the batch was not written
    broken_hints: tuple[str, ...] = ()


async def rotate_batch(session: AsyncSession, vault: IdentityVault, after_id: int, limit: int,
                       now: datetime) -> RotatedBatch:
    """Re-seals with the current key up to `limit` rows after `after_id` that another key sealed.

    All or nothing: when a row of the batch cannot be opened, none of the batch is written (the
    caller then rolls back) and the rows are named. A row's data only ever changes here, so a
    concurrent rotation writes the same plaintext and needs no lock."""
    rows = (await session.execute(
        select(SealedIdentityRow.id, SealedIdentityRow.sealed, SealedIdentityRow.key_hint)
        .where(SealedIdentityRow.id > after_id, SealedIdentityRow.key_hint != vault.current_hint)
        .order_by(SealedIdentityRow.id).limit(limit))).all()
    if not rows:
        return RotatedBatch(last_id=None, rotated=0)
    changes, broken, broken_hints = [], [], []
    for row in rows:
        try:
            changes.append({"id": row.id, "sealed": vault.reseal(row.sealed), "key_hint": vault.current_hint,
                            "rotated_at": now})
        except SealBroken:
            broken.append(row.id)
            broken_hints.append(row.key_hint)
    if broken:
        return RotatedBatch(rows[-1].id, 0, tuple(broken), tuple(dict.fromkeys(broken_hints)))
    await session.execute(update(SealedIdentityRow), changes)  # bulk UPDATE by primary key
    return RotatedBatch(rows[-1].id, len(changes))
