"""The unit of work: one AsyncSession, one transaction, the repositories over it.

Database errors that mean "someone else got there first" become the core's DuplicateUpdate
or ConcurrencyConflict, so the dispatcher can drop or retry without knowing SQLAlchemy.
"""

from __future__ import annotations

import asyncio

from collections.abc import Callable
from functools import partial

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from handlers.ports import ConcurrencyConflict, DuplicateUpdate
from storage.blobs import SqlBlobRepo
from storage.case_work import SqlCaseWorkRepo
from storage.repositories import (
    SqlCaseRepo,
    SqlFormRepo,
    SqlInboundRepo,
    SqlOutboxRepo,
    SqlPeopleRepo,
    SqlUnitRepo,
    is_duplicate_update,
)
from storage.checkins import SqlCheckinRepo
from storage.duty import SqlDutyRepo
from storage.identity_vault import IdentityVault, SqlIdentityRepo
from storage.monthly import SqlMonthlyRepo
from storage.privacy import SqlPrivacyRepo
from storage.reports import SqlReportsRepo
from storage.reminders import SqlReminderRepo
from storage.staff import SqlStaffRepo
from storage.receipt_checks import SqlReceiptCheckRepo
from storage.tipoffs import SqlTipoffRepo

# PostgreSQL: serialization_failure, deadlock_detected.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def translate_error(error: BaseException) -> Exception | None:
    """The core's exception for a database error, or None when it is not one of ours."""
    if isinstance(error, IntegrityError) and is_duplicate_update(error):
        return DuplicateUpdate(str(error.orig))
    if isinstance(error, StaleDataError):
        return ConcurrencyConflict(str(error))
    if isinstance(error, DBAPIError):
        if getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
            return ConcurrencyConflict(str(error.orig))
        if isinstance(error, OperationalError) and "database is locked" in str(error.orig):
            return ConcurrencyConflict(str(error.orig))  # SQLite waited busy_timeout in vain
    return None


class SqlUnitOfWork:
    session: AsyncSession
    updates: SqlInboundRepo
    people: SqlPeopleRepo
    units: SqlUnitRepo
    forms: SqlFormRepo
    cases: SqlCaseRepo
    outbox: SqlOutboxRepo
    blobs: SqlBlobRepo
    staff: SqlStaffRepo
    casework: SqlCaseWorkRepo
    reminders: SqlReminderRepo
    duty: SqlDutyRepo
    checkins: SqlCheckinRepo
    monthly: SqlMonthlyRepo
    reports: SqlReportsRepo
    identities: SqlIdentityRepo
    tipoffs: SqlTipoffRepo
    receipt_checks: SqlReceiptCheckRepo
    privacy: SqlPrivacyRepo

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], write_lock: asyncio.Lock | None = None,
                 vault: IdentityVault | None = None) -> None:
        self._session_factory = session_factory
        self._write_lock = write_lock
        self._vault = vault

    async def __aenter__(self) -> SqlUnitOfWork:
        if self._write_lock is not None:
            await self._write_lock.acquire()
        self.session = session = self._session_factory()
        self.updates = SqlInboundRepo(session)
        prefetched_forms: dict = {}  # people.by_identity loads the open form with the person
        self.people = SqlPeopleRepo(session, prefetched_forms)
        self.units = SqlUnitRepo(session)
        self.forms = SqlFormRepo(session, prefetched_forms)
        self.cases = SqlCaseRepo(session)
        self.outbox = SqlOutboxRepo(session)
        self.blobs = SqlBlobRepo(session)
        self.staff = SqlStaffRepo(session)
        self.casework = SqlCaseWorkRepo(session)
        self.reminders = SqlReminderRepo(session)
        self.duty = SqlDutyRepo(session)
        self.checkins = SqlCheckinRepo(session)
        self.monthly = SqlMonthlyRepo(session)
        self.reports = SqlReportsRepo(session)
        self.identities = SqlIdentityRepo(session, self._vault)  # without a vault, raises VaultMissing when used
        self.tipoffs = SqlTipoffRepo(session, self.identities)
        self.receipt_checks = SqlReceiptCheckRepo(session)
        self.privacy = SqlPrivacyRepo(session, self.tipoffs)
        return self

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        """Roll back whatever was not committed; a conflict raised by a query is translated too."""
        try:
            await self.session.rollback()
        finally:
            await self.session.close()
            if self._write_lock is not None:
                self._write_lock.release()
        if isinstance(exc, BaseException):
            translated = translate_error(exc)
            if translated is not None:
                raise translated from exc

    async def commit(self) -> None:
        try:
            await self.session.commit()
        except Exception as error:
            translated = translate_error(error)
            if translated is None:
                raise
            raise translated from error

    async def rollback(self) -> None:
        await self.session.rollback()


def make_uow_factory(engine: AsyncEngine, vault: IdentityVault | None = None) -> Callable[[], SqlUnitOfWork]:
    """A factory of units of work on `engine` (the core's UnitOfWorkFactory); `vault` holds the
    identity keys `uow.identities` seals and opens with (none: it refuses to be used)."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    if engine.dialect.name == "sqlite":
        # SQLite has one writer at a time and every transaction here begins IMMEDIATE: queueing
        # them in the process is cheaper than SQLite's sleeping busy handler.
        return partial(SqlUnitOfWork, sessions, asyncio.Lock(), vault=vault)
    return partial(SqlUnitOfWork, sessions, vault=vault)
