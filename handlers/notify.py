"""Telling residents what happens to their report, in words a resident understands.

The ward plans promise residents the progress of their case in time (DOMAIN.md, seed 004).
A resident sees only where the case stands (its step, or closed): never internal notes,
officers' names or the parties' details, which are confidential (Luật Hòa giải ở cơ sở, Điều 4.3).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from handlers import quiet
from handlers.domain import workflow as wf
from handlers.domain.model import Case, Contact
from handlers.messages import Outgoing, Reply
from handlers.ports import Translator

if TYPE_CHECKING:
    from handlers.services import Conversation

# Every state a resident may see; each has a plain sentence `notify.status.<state>`.
RESIDENT_STATES: tuple[str, ...] = (*wf.STEP_STATUS.values(), wf.CLOSED)


def resident_state(case: Case) -> str:
    """Where the case stands for its reporter: the status of its step, or closed."""
    if case.is_closed:
        return wf.CLOSED
    return wf.STEP_STATUS.get(case.step, wf.STEP_STATUS[wf.CLASSIFY])


def plain_state(t: Translator, lang: str, case: Case) -> str:
    """One plain sentence on where the case stands (also what /status shows)."""
    return t(f"notify.status.{resident_state(case)}", lang)


def visible_change(before: Case, after: Case) -> bool:
    """Whether the reporter would see a difference: the step moved, or it closed or reopened."""
    return resident_state(before) != resident_state(after) or before.reopen_count != after.reopen_count


async def case_changed(conv: Conversation, before: Case, after: Case) -> list[Outgoing]:
    """The messages telling the reporter that their case moved: one to each of their chats,
    in their language; none when nothing they see changed, or nobody reported it by chat.
    Unasked, so they wait out quiet hours, unless the reporter is the one acting (awake).
    Cheap when nothing changed: no query at all."""
    if after.reporter_id is None or not visible_change(before, after):
        return []
    contacts = await conv.uow.staff.contacts([after.reporter_id])
    reopened = before.is_closed and not after.is_closed
    acting = conv.person is not None and conv.person.id == after.reporter_id
    not_before = None if acting else quiet.not_before(conv.config, conv.now)
    return [_message(conv.t, after, contact, reopened, not_before) for contact in contacts]


def _message(t: Translator, case: Case, contact: Contact, reopened: bool,
             not_before: datetime | None) -> Outgoing:
    lang, state = contact.language, plain_state(t, contact.language, case)
    if reopened:
        text = t("notify.reopened", lang, code=case.code, state=state)
    else:
        text = t("notify.changed", lang, code=case.code, state=state)
    return Outgoing(channel=contact.platform, chat_id=contact.chat_id, reply=Reply(text=text),
                    dedupe_key=f"notify:{case.id}:v{case.version}:{contact.platform}", not_before=not_before)
