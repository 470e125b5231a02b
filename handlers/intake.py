"""A new case enters the ward: which department leads it, and the ward police told at once.

The police lead and track every case (DOMAIN.md, "Routing"), so every new case goes to the chat
of each officer and head of the ward police, with the buttons to acknowledge, take or open it.
Only police are told here, whatever the field: a case may show signs of a crime before anyone
classified it, and such cases are for police roles only. The messages carry what an officer
needs to decide, never the reporter's name or phone (privacy).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from handlers.domain import routing
from handlers.domain.model import Case, Contact, Unit
from handlers.domain.roles import POLICE_ROLES
from handlers.messages import Choice, Outgoing, Reply
from handlers.ports import Translator

if TYPE_CHECKING:
    from handlers.services import Conversation

log = logging.getLogger("hoagiai.intake")

SUMMARY_PREVIEW = 300


async def departments_of(conv: Conversation, ward: Unit | None) -> list[Unit]:
    """The ward's departments ([] without a ward)."""
    return await conv.uow.units.departments(ward.id) if ward is not None else []


async def lead_unit_for(conv: Conversation, field: str, commune_unit_id: int | None = None) -> int | None:
    """The id of the department that leads a case of `field` in the ward (the configured one, or
    `commune_unit_id`, a case's own ward): for a new case, and again when an officer changes
    its field. None when the ward has no department that fits."""
    if commune_unit_id is not None:
        ward = await conv.uow.units.get(commune_unit_id)
    else:
        ward, _ = await conv.wards.get(conv.uow, conv.config.ward_code, conv.now)
    unit = routing.lead_department(field, ward, await departments_of(conv, ward))
    return unit.id if unit is not None else None


async def announce_new_case(conv: Conversation, case: Case, departments: Sequence[Unit],
                            group_name: str) -> list[Outgoing]:
    """One message to each chat of each officer and head of the ward police, in their language."""
    police = [unit.id for unit in routing.police_departments(departments)]
    people = await conv.uow.staff.holders(police, sorted(POLICE_ROLES)) if police else []
    contacts = await conv.uow.staff.contacts(people)
    lead = next((unit.name for unit in departments if unit.id == case.lead_unit_id), "—")
    log.info("new case announced code=%s officers=%d chats=%d", case.code, len(people), len(contacts))
    return [_announcement(conv, case, contact, group_name, lead) for contact in contacts]


def _announcement(conv: Conversation, case: Case, contact: Contact, group_name: str, lead: str) -> Outgoing:
    lang = contact.language
    lines = [conv.t("intake.urgent", lang, reasons=_reasons(conv, case, lang))] if case.urgent else []
    lines.append(conv.t("intake.new_case", lang, code=case.code, field=conv.t(f"field.{case.field}", lang),
                        group=group_name or "—", lead=lead, summary=preview(case.summary)))
    reply = Reply(text="\n".join(lines), buttons=case_buttons(conv.t, lang, case))
    return Outgoing(channel=contact.platform, chat_id=contact.chat_id, reply=reply,
                    dedupe_key=f"newcase:{case.id}:{contact.person_id}:{contact.platform}", urgent=case.urgent)


def case_buttons(t: Translator, lang: str, case: Case) -> tuple[tuple[Choice, ...], ...]:
    """Acknowledge, Take it, Open: the card's first quick actions (handlers.casework checks
    rights and the version on press)."""
    def act(action: str) -> Choice:
        return Choice(t(f"staff.action.{action}", lang), f"k:a:{action}:{case.id}:{case.version}")

    return ((act("acknowledge"), act("take")), (Choice(t("staff.card.open", lang), f"k:o:{case.id}"),))


def _reasons(conv: Conversation, case: Case, lang: str) -> str:
    return ", ".join(conv.t(f"urgency.{reason}", lang) for reason in case.urgency_reasons) or "—"


def preview(summary: str, limit: int = SUMMARY_PREVIEW) -> str:
    """The start of a summary, cut at `limit` characters."""
    return summary if len(summary) <= limit else summary[:limit].rstrip() + "…"
