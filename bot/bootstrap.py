"""The composition root: builds every part from the settings; tests may replace any of them."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings, parse_days_of_month
from bot.web.chat_files import FileLinks
from handlers.dispatch import Dispatcher
from handlers.i18n import CatalogTranslator
from handlers.ports import BlobReader, Channel, Clock, Translator, UnitOfWorkFactory
from handlers.services import CoreConfig
from scheduler.outbox import OutboxSender
from scheduler.rules import load_calendar, load_escalation, load_rules
from storage.engine import create_engine
from storage.identity_vault import IdentityVault, load_vault
from storage.uow import make_uow_factory

log = logging.getLogger("hoagiai.bootstrap")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    uow_factory: UnitOfWorkFactory
    translator: Translator
    clock: Clock
    dispatcher: Dispatcher
    sender: OutboxSender
    channels: dict[str, Channel] = field(default_factory=dict)
    telegram_bot: Any = None
    read_blob: BlobReader | None = None  # the bytes of files in replies, for the channels
    file_links: FileLinks = field(default_factory=FileLinks)  # the web chat's download links


def core_config(settings: Settings) -> CoreConfig:
    """Raises scheduler.rules.RulesError when a ward's rules or days-off file is wrong."""
    return CoreConfig(
        form_ttl=timedelta(hours=settings.form_ttl_hours),
        alert_chat_id=settings.alert_chat_id,
        ward_code=settings.ward_code,
        timezone=settings.timezone,
        rules=load_rules(settings.rules_file),
        escalation=load_escalation(settings.rules_file),
        calendar=load_calendar(settings.timezone, settings.days_off_file),
        quiet_hours=settings.quiet_period,
        urgent_realert=timedelta(minutes=settings.urgent_realert_minutes),
        urgent_escalate_after=settings.urgent_escalate_after,
        checkin_days=settings.checkin_day_list,
        form_reminder_before=timedelta(hours=settings.form_reminder_hours),
        monthly_first_day=settings.monthly_first_day,
        monthly_due_day=settings.monthly_due_day,
        monthly_reminder_days=parse_days_of_month(settings.monthly_reminder_days),
        prolonged_days=settings.prolonged_days,
        retention_years=settings.retention_years,
    )


def blob_reader(uow_factory: UnitOfWorkFactory) -> BlobReader:
    """Reads a blob in a short transaction of its own (a channel sends outside any)."""

    async def read(sha256: str) -> tuple[bytes, str] | None:
        async with uow_factory() as uow:
            return await uow.blobs.get(sha256)

    return read


def file_links(settings: Settings) -> FileLinks:
    """The web chat's link key: the configured one, else a random one that lives as long as the process."""
    secret = settings.web_file_secret
    if secret is None:
        if settings.web_enabled:
            log.info("HOAGIAI_WEB_FILE_SECRET is not set: web chat file links last until a restart")
        return FileLinks()
    return FileLinks(secret.get_secret_value().encode())


def identity_vault(settings: Settings, *, create: bool = True) -> IdentityVault:
    """The keys that seal reporters' identities: HOAGIAI_IDENTITY_KEYS, else the key file (made
    with a new key when missing and `create`). Raises IdentityKeysError, naming the variable or
    file and the position of a bad key."""
    secret = settings.identity_keys
    return load_vault(secret.get_secret_value() if secret else None, settings.identity_key_file, create=create)


def build(settings: Settings, *, clock: Clock | None = None, translator: Translator | None = None) -> Container:
    """Everything but the running tasks; channels are added by the runtime as it starts them."""
    vault = identity_vault(settings)
    engine = create_engine(settings.database_url)
    uow_factory = make_uow_factory(engine, vault)
    clock = clock or SystemClock()
    translator = translator or CatalogTranslator()
    channels: dict[str, Channel] = {}
    sender = OutboxSender(uow_factory, channels, clock, owner=settings.worker_name)
    dispatcher = Dispatcher(uow_factory, translator, clock, core_config(settings), on_commit=sender.kick,
                            deliver=sender.deliver_claimed, lease_seconds=sender.lease_seconds,
                            lease_owner=sender.owner)
    return Container(settings, engine, uow_factory, translator, clock, dispatcher, sender, channels,
                     read_blob=blob_reader(uow_factory), file_links=file_links(settings))
