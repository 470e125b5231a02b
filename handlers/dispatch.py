"""The one entry point every adapter calls: Inbound -> services -> outbox, exactly once.

The update id is recorded in the same transaction as the update's effects and its replies
(outbox rows), so a re-delivered update changes nothing and sends nothing twice. The call
returns only after that transaction committed: then the adapter may confirm the update.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from handlers import services, urgent
from handlers.domain.model import OutboxMessage
from handlers.i18n import normalise_language
from handlers.locks import KeyedLocks
from handlers.messages import Inbound, Outgoing
from handlers.ports import Clock, ConcurrencyConflict, DuplicateUpdate, Translator, UnitOfWork, UnitOfWorkFactory
from handlers.services import Conversation, CoreConfig, WardCache

log = logging.getLogger("hoagiai.dispatch")
MAX_CONFLICT_RETRIES = 5


@dataclass
class Dispatcher:
    uow_factory: UnitOfWorkFactory
    translator: Translator
    clock: Clock
    config: CoreConfig = field(default_factory=CoreConfig)
    on_commit: Callable[[], None] = lambda: None  # wakes the outbox sender
    # When set, replies are stored already leased to this process and handed over after commit.
    deliver: Callable[[list[OutboxMessage]], None] | None = None
    lease_seconds: int = 120
    lease_owner: str | None = None  # this worker's name on the rows it leases
    wards: WardCache = field(default_factory=WardCache)
    _locks: KeyedLocks = field(default_factory=KeyedLocks)

    async def handle(self, inbound: Inbound) -> None:
        """Handle one update; returns after commit. Raises only when storage fails."""
        async with self._lock_for(inbound):
            try:
                leased, unleased = await self._handle_with_retries(inbound)
            except DuplicateUpdate:
                log.info("duplicate update platform=%s update=%s", inbound.platform, inbound.update_id)
                return
            if leased and self.deliver is not None:
                self.deliver(leased)
            if unleased:
                self.on_commit()

    async def _handle_with_retries(self, inbound: Inbound) -> tuple[list[OutboxMessage], int]:
        for attempt in range(MAX_CONFLICT_RETRIES):
            try:
                return await self._handle_once(inbound, failed=None)
            except DuplicateUpdate:
                raise
            except ConcurrencyConflict:
                log.info("conflict, retrying platform=%s update=%s attempt=%d", inbound.platform, inbound.update_id, attempt + 1)
            except Exception as error:  # noqa: BLE001 - a bug must not block the queue
                log.exception("update failed platform=%s update=%s", inbound.platform, inbound.update_id)
                return await self._handle_once(inbound, failed=error)
        raise ConcurrencyConflict(f"update {inbound.update_id} kept conflicting")

    async def _handle_once(self, inbound: Inbound, failed: Exception | None) -> tuple[list[OutboxMessage], int]:
        """One transaction: record the update (a twin raises DuplicateUpdate here), run the use
        case (or apologise), store the replies, commit. Returns the replies leased to us and
        how many wait for the sweep."""
        now = self.clock.now()
        lease = self.lease_seconds if self.deliver is not None else None
        leased: list[OutboxMessage] = []
        async with self.uow_factory() as uow:
            await uow.updates.record(inbound.platform, inbound.bot_id, inbound.update_id, now)
            conv = await self._conversation(uow, inbound, now)
            replies = services.apology(conv) if failed is not None else await self._route(conv)
            for outgoing in replies:
                row_id = await uow.outbox.add(outgoing, now, lease, self.lease_owner)
                if lease is not None and outgoing.dedupe_key is None and not outgoing.held_at(now):
                    leased.append(OutboxMessage(row_id, outgoing.channel, outgoing.chat_id, outgoing.reply.to_payload(),
                                                None, attempts=1, ephemeral=outgoing.ephemeral, urgent=outgoing.urgent))
            await uow.commit()
        return leased, len(replies) - len(leased)

    async def _conversation(self, uow: UnitOfWork, inbound: Inbound, now: datetime) -> Conversation:
        person = None
        if inbound.chat_type == "private":
            person = await uow.people.by_identity(inbound.user.platform, inbound.user.external_id)
        lang = person.language if person else normalise_language(inbound.user.language_code)
        return Conversation(inbound, uow, self.translator, now, self.config, person, lang, self.wards)

    async def _route(self, conv: Conversation) -> list[Outgoing]:
        if conv.inbound.chat_type != "private":
            if urgent.is_group_acknowledge(conv):
                return await urgent.acknowledge_from_group(conv)
            return services.group_chat_notice(conv)
        if conv.person is None:
            return await services.before_consent(conv)
        return await services.after_consent(conv)

    def _lock_for(self, inbound: Inbound) -> asyncio.Lock:
        """Updates of one chat are handled one after another within this process."""
        return self._locks((inbound.platform, inbound.chat_id))
