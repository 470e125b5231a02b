"""Messages the bot gave up on, shown to the ward police (/undelivered).

A leader who blocked the bot never gets their reminders; a reporter who deleted their account
never learns their case moved. The outbox marks such messages failed and does not retry them
(scheduler/outbox.py); officers see here who could not be reached in the last days, so that
someone calls or visits instead. Staff are named with their roles; a resident is shown only as
"the reporter of" their recent cases, never by name or account.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from handlers.domain.roles import Actor
from handlers.messages import Outgoing, Reply

if TYPE_CHECKING:
    from handlers.services import Conversation

log = logging.getLogger("hoagiai.undelivered")

LOOK_BACK = timedelta(days=14)
SHOWN = 15
CALLBACK = "k:u"
MAX_ERROR = 80


async def show(conv: Conversation, actor: Actor) -> list[Outgoing]:
    """The chats the outbox gave up on in the last LOOK_BACK, the latest first; police only."""
    if not actor.is_police:
        log.warning("undelivered refused person=%s", actor.person_id)
        return [conv.reply(Reply(conv("undelivered.police_only")))]
    failed = await conv.uow.outbox.failed_recipients(conv.now - LOOK_BACK)  # type: ignore[attr-defined]
    if not failed:
        return [conv.reply(Reply(conv("undelivered.none", days=LOOK_BACK.days)))]
    zone = ZoneInfo(conv.config.timezone)
    lines = [conv("undelivered.header", days=LOOK_BACK.days, count=len(failed))]
    for chat in failed[:SHOWN]:
        lines.append(conv("undelivered.line", who=await _who(conv, chat.channel, chat.chat_id),
                          channel=chat.channel, count=chat.failures,
                          at=chat.last_failed_at.astimezone(zone).strftime("%d/%m %H:%M"),
                          error=chat.last_error[:MAX_ERROR]))
    if len(failed) > SHOWN:
        lines.append(conv("undelivered.more", count=len(failed) - SHOWN))
    log.info("undelivered shown person=%s chats=%d", actor.person_id, len(failed))
    return [conv.reply(Reply("\n".join(lines)))]


async def _who(conv: Conversation, channel: str, chat_id: str) -> str:
    """A staff member's name and roles; a resident as the reporter of their cases; else unknown."""
    person = await conv.uow.people.by_identity(channel, chat_id)
    if person is None:
        return conv("undelivered.unknown")
    roles = sorted({membership.role for membership in await conv.uow.staff.memberships(person.id)  # type: ignore[attr-defined]
                    if membership.role != "resident"})
    if roles:
        name = (await conv.uow.staff.names([person.id])).get(person.id, f"#{person.id}")  # type: ignore[attr-defined]
        return f"{name} ({', '.join(conv(f'role.{role}') for role in roles)})"
    codes = [case.code for case in await conv.uow.cases.for_reporter(person.id, limit=3)]
    return conv("undelivered.reporter", codes=", ".join(codes)) if codes else conv("undelivered.resident")
