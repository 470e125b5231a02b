"""`uow.tipoffs`: crime tip-offs beside their cases, receipts as hashes, the anonymous dialogue.

The receipt code and PIN leave here once, in `create`'s result; the table keeps sha256 of the
code and a scrypt hash of the PIN. A confidential reporter's identity goes to the sealed
identities (storage/identity_vault.py); an anonymous one leaves none. Nothing here logs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.domain import receipts
from handlers.ports import IssuedReceipt, SealBroken, Tipoff, TipoffLookup, TipoffMessage
from storage.identity_vault import SqlIdentityRepo
from storage.repositories import is_unique_violation
from storage.tables import TIPOFF_MODES, TIPOFF_SENDERS, SealedIdentityRow, TipoffMessageRow, TipoffRow

# Another transaction took the number (or, never in practice, the receipt hash): try again.
CREATE_ATTEMPTS = 8
_RETRYABLE = ("number", "receipt_hash")
# Sealed identities opened at a time when looking for a reporter's: memory stays flat.
FORGET_BATCH = 200


class Forgotten(NamedTuple):
    """What `forget_reporter` did: identities deleted, and identities no configured key opens
    (kept: nobody can tell whose they are)."""

    deleted: int
    skipped: int


def _tipoff(row: TipoffRow) -> Tipoff:
    return Tipoff(id=row.id, case_id=row.case_id, mode=row.mode, number=row.number,  # type: ignore[arg-type]
                  has_identity=row.identity_id is not None, happening_now=row.happening_now,
                  created_at=row.created_at)


def _message(row: TipoffMessageRow) -> TipoffMessage:
    return TipoffMessage(id=row.id, tipoff_id=row.tipoff_id, sender=row.sender,  # type: ignore[arg-type]
                         text=row.text, files=list(row.files or []), at=row.at, officer_id=row.officer_id)


def _retryable(error: IntegrityError) -> bool:
    """A unique violation on the reporter number or receipt hash (not on the case: that is a bug)."""
    message = str(error.orig)
    return is_unique_violation(error) and "case_id" not in message and any(n in message for n in _RETRYABLE)


def _check_mode(mode: str, identity: dict[str, Any] | None) -> None:
    if mode not in TIPOFF_MODES:
        raise ValueError(f"tip-off mode must be one of {TIPOFF_MODES}")
    if mode == "confidential" and not identity:
        raise ValueError("a confidential tip-off needs the reporter's identity to seal")
    if mode == "anonymous" and identity:
        raise ValueError("an anonymous tip-off keeps no identity")


class SqlTipoffRepo:
    """handlers.ports.TipoffRepo over one session; never commits."""

    def __init__(self, session: AsyncSession, identities: SqlIdentityRepo) -> None:
        self.session = session
        self.identities = identities

    async def create(self, case_id: int, mode: str, happening_now: bool,
                     identity: dict[str, Any] | None, now: datetime) -> IssuedReceipt:
        _check_mode(mode, identity)
        identity_id = await self.identities.add(identity, now) if mode == "confidential" and identity else None
        for attempt in range(CREATE_ATTEMPTS):
            code, pin = receipts.new_code(), receipts.new_pin()
            pin_hash = await asyncio.to_thread(receipts.hash_pin, pin)  # slow on purpose: off the event loop
            try:
                row = await self._insert(case_id, mode, happening_now, identity_id, code, pin_hash, now)
            except IntegrityError as error:
                if not _retryable(error) or attempt == CREATE_ATTEMPTS - 1:
                    raise
                continue
            return IssuedReceipt(tipoff_id=row.id, number=row.number, code=code, pin=pin)
        raise AssertionError("unreachable")

    async def _insert(self, case_id: int, mode: str, happening_now: bool, identity_id: int | None,
                      code: str, pin_hash: str, now: datetime) -> TipoffRow:
        """max(number)+1 in a savepoint: a concurrent twin makes the insert fail on the unique
        number (PostgreSQL waits for the twin's commit first), and only the savepoint is lost."""
        async with self.session.begin_nested():
            number = (await self.session.scalar(select(func.coalesce(func.max(TipoffRow.number), 0)))) + 1
            row = TipoffRow(case_id=case_id, mode=mode, number=number, identity_id=identity_id,
                            receipt_hash=receipts.receipt_hash(code), pin_hash=pin_hash, failed_pins=0,
                            locked_until=None, happening_now=happening_now, created_at=now)
            self.session.add(row)
            await self.session.flush()
        return row

    async def lookup(self, code: str, pin: str, now: datetime) -> TipoffLookup:
        """Same cost for an unknown code as for a wrong PIN (a dummy hash is checked). The row is
        locked (PostgreSQL) so concurrent wrong PINs all count."""
        row = await self.session.scalar(
            select(TipoffRow).where(TipoffRow.receipt_hash == receipts.receipt_hash(code))
            .with_for_update().execution_options(populate_existing=True))
        stored = row.pin_hash if row is not None else receipts.dummy_pin_hash()
        ok = await asyncio.to_thread(receipts.check_pin, pin, stored)
        if row is None:
            return TipoffLookup("unknown")
        failed, locked_until, outcome = receipts.attempt(row.failed_pins, row.locked_until, now, ok)
        row.failed_pins, row.locked_until = failed, locked_until
        await self.session.flush()
        if outcome == "ok":
            return TipoffLookup("found", tipoff=_tipoff(row), tries_left=receipts.MAX_TRIES)
        if outcome == "locked":
            return TipoffLookup("locked", tries_left=0, locked_until=locked_until)
        return TipoffLookup("wrong", tries_left=receipts.tries_left(failed))

    async def get(self, tipoff_id: int) -> Tipoff | None:
        row = await self.session.get(TipoffRow, tipoff_id)
        return _tipoff(row) if row is not None else None

    async def by_case(self, case_id: int) -> Tipoff | None:
        row = await self.session.scalar(select(TipoffRow).where(TipoffRow.case_id == case_id))
        return _tipoff(row) if row is not None else None

    async def add_message(self, tipoff_id: int, sender: str, text: str, files: list[dict[str, Any]],
                          officer_id: int | None, now: datetime) -> TipoffMessage:
        """`officer_id` only with a police message, for the audit; the reporter never sees it."""
        if sender not in TIPOFF_SENDERS:
            raise ValueError(f"tip-off message sender must be one of {TIPOFF_SENDERS}")
        if sender == "reporter" and officer_id is not None:
            raise ValueError("a reporter's message has no officer")
        row = TipoffMessageRow(tipoff_id=tipoff_id, sender=sender, officer_id=officer_id, text=text,
                               files=list(files), at=now)
        self.session.add(row)
        await self.session.flush()
        return _message(row)

    async def messages(self, tipoff_id: int) -> list[TipoffMessage]:
        rows = await self.session.scalars(
            select(TipoffMessageRow).where(TipoffMessageRow.tipoff_id == tipoff_id)
            .order_by(TipoffMessageRow.at, TipoffMessageRow.id))
        return [_message(row) for row in rows]

    async def reporter_chat(self, tipoff_id: int) -> tuple[str, str] | None:
        """From the sealed identity's "platform" and "chat_id" (else "external_id", a private
        chat's id on Telegram and Zalo). Opens the identity for delivery only: never show it."""
        row = await self.session.get(TipoffRow, tipoff_id)
        if row is None or row.mode != "confidential" or row.identity_id is None:
            return None
        identity = await self.identities.get(row.identity_id)
        if not identity:
            return None
        platform, chat_id = identity.get("platform"), identity.get("chat_id") or identity.get("external_id")
        if not platform or not chat_id:
            return None
        return str(platform), str(chat_id)

    async def forget_reporter(self, person_id: int) -> Forgotten:
        """Deletes the sealed identities of the confidential tip-offs `person_id` made; the tip-offs
        and cases stay, with no identity. Nothing in plaintext links a reporter to a tip-off, so
        each sealed identity is opened, in batches, and its "person_id" compared. One that no key
        opens is skipped and counted, so a dropped key never blocks an erasure."""
        deleted = skipped = 0
        after = 0
        while True:
            rows = (await self.session.execute(
                select(TipoffRow.id, TipoffRow.identity_id, SealedIdentityRow.sealed)
                .join(SealedIdentityRow, SealedIdentityRow.id == TipoffRow.identity_id)
                .where(TipoffRow.mode == "confidential", TipoffRow.id > after)
                .order_by(TipoffRow.id).limit(FORGET_BATCH))).all()
            if not rows:
                return Forgotten(deleted, skipped)
            vault = self.identities.vault  # only now: with no sealed identity, no vault is needed
            theirs: list[int] = []
            for _, identity_id, sealed in rows:
                try:
                    identity = vault.open_(sealed)
                except SealBroken:
                    skipped += 1
                    continue
                if identity.get("person_id") == person_id:
                    theirs.append(identity_id)
            deleted += await self._drop_identities(theirs)
            after = rows[-1].id

    async def forget_cases(self, case_ids: Sequence[int]) -> int:
        """Deletes the sealed identities of these cases' tip-offs (retention); needs no key."""
        identity_ids = list(await self.session.scalars(
            select(TipoffRow.identity_id)
            .where(TipoffRow.case_id.in_(case_ids), TipoffRow.identity_id.is_not(None))))
        return await self._drop_identities(identity_ids)

    async def _drop_identities(self, identity_ids: list[int]) -> int:
        """Unlinks the tip-offs first (not relying on ON DELETE SET NULL), then deletes the rows."""
        if not identity_ids:
            return 0
        await self.session.execute(
            update(TipoffRow).where(TipoffRow.identity_id.in_(identity_ids)).values(identity_id=None))
        result = await self.session.execute(
            delete(SealedIdentityRow).where(SealedIdentityRow.id.in_(identity_ids)))
        return int(result.rowcount or 0)

    async def open_identity(self, tipoff_id: int) -> dict[str, Any] | None:
        """The reporter's sealed identity, opened for the head's recorded reveal (and the reply's
        language); None for an anonymous tip-off or a deleted identity. Raises SealBroken when no
        key opens it. Never log or store what it returns."""
        row = await self.session.get(TipoffRow, tipoff_id)
        if row is None or row.identity_id is None:
            return None
        return await self.identities.get(row.identity_id)
