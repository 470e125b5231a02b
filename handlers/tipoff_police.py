"""The ward police's side of a crime tip-off: the card's tip-off section, replies to the
reporter through the bot, and the head's reveal of a confidential identity.

On every police screen the reporter is "Người báo tin #<number>": the identity stays sealed
(storage/identity_vault.py). The reporter sees the unit ("Công an phường"), never the officer;
officers see among themselves who wrote. The only way to the identity is the head's reveal: it
asks a reason, records it as a case event (the reason, never the identity), and answers the head
alone with an ephemeral message, which the outbox scrubs once sent. Logs name the case code and
the reporter's number only. Callbacks are "k:t:<verb>:<case id>", routed by handlers/casework.py.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from handlers import case_actions, casework, quiet
from handlers.domain import access
from handlers.domain.model import CASE_KIND_TIPOFF, Case, FormSession
from handlers.domain.roles import HEAD, Actor
from handlers.forms import engine
from handlers.forms.engine import Accept, FormContext, FormSpec, Invalid
from handlers.forms.steps import CASE_CODE, TextStep
from handlers.i18n import DEFAULT_LANGUAGE, LANGUAGES
from handlers.messages import Choice, Inbound, Outgoing, Reply
from handlers.ports import SealBroken, Tipoff, TipoffMessage

if TYPE_CHECKING:
    from handlers.services import Conversation

log = logging.getLogger("hoagiai.tipoff_police")

Rows = tuple[tuple[Choice, ...], ...]
PREFIX = "k:t:"
REPLY, THREAD, REVEAL = "reply", "thread", "reveal"
CASE_ID = "_case"  # the answers' case id, as in handlers/case_actions.py
CARD_MESSAGES = 3  # the latest messages of the dialogue on the card
CARD_TEXT = 300  # a message longer than this is cut on the card (the whole dialogue shows it all)
THREAD_CHARS = 3500  # under every platform's message limit; older messages are left out first
MIN_REASON = 10
# A reply to a reporter waits out quiet hours (a phone lighting up at night may expose them),
# unless the crime was happening when reported, recently.
HAPPENING_WINDOW = timedelta(hours=12)
REPORTER_BUTTON = "tp:w:{id}"  # the reporter side (another module) sends more information


@dataclass(frozen=True)
class ReasonStep(TextStep):
    """A typed reason that says something: at least `min_length` characters."""

    min_length: int = MIN_REASON

    def accept(self, answers: dict[str, Any], inbound: Inbound, value: str | None, ctx: FormContext):
        outcome = super().accept(answers, inbound, value, ctx)
        if isinstance(outcome, Accept) and len(outcome.updates.get(self.key) or "") < self.min_length:
            return Invalid(ctx("tipoff_police.reveal.too_short", min=self.min_length))
        return outcome


REPLY_FORM = FormSpec(
    name="tipoff_reply",
    steps=(TextStep("text", "tipoff_police.reply.title", "tipoff_police.reply.prompt", "text", max_length=2000),),
    summary_step="text",
)
REVEAL_FORM = FormSpec(
    name="tipoff_reveal",
    steps=(ReasonStep("reason", "tipoff_police.reveal.title", "tipoff_police.reveal.prompt", "reason",
                      max_length=500),),
    summary_step="reason",
)
FORMS: dict[str, FormSpec] = {spec.name: spec for spec in (REPLY_FORM, REVEAL_FORM)}


# --- the card's section -----------------------------------------------------------------------

async def card_section(conv: Conversation, actor: Actor, case: Case) -> tuple[list[str], Rows]:
    """The tip-off's lines and buttons on its case card; nothing for other cases."""
    if case.kind != CASE_KIND_TIPOFF or not actor.is_police:
        return [], ()
    tipoff = await conv.uow.tipoffs.by_case(case.id)
    if tipoff is None:
        return [], ()
    messages = await conv.uow.tipoffs.messages(tipoff.id)
    lines = ["", conv("tipoff_police.section", number=tipoff.number),
             conv("tipoff_police.mode_line", mode=_mode(conv, tipoff)),
             conv("tipoff_police.happening_now") if tipoff.happening_now else conv("tipoff_police.not_happening_now")]
    if messages:
        shown = messages[-CARD_MESSAGES:]
        names = await _officer_names(conv, shown)
        lines.append(conv("tipoff_police.recent", shown=len(shown), total=len(messages)))
        lines += [_message_line(conv, tipoff, message, names, CARD_TEXT) for message in shown]
    else:
        lines.append(conv("tipoff_police.no_messages"))
    return lines, _buttons(conv, actor, case, tipoff)


def _buttons(conv: Conversation, actor: Actor, case: Case, tipoff: Tipoff) -> Rows:
    rows: list[tuple[Choice, ...]] = [(Choice(conv("tipoff_police.button.reply"), f"{PREFIX}{REPLY}:{case.id}"),
                                       Choice(conv("tipoff_police.button.thread"), f"{PREFIX}{THREAD}:{case.id}"))]
    if may_reveal(actor, tipoff) and tipoff.has_identity:
        rows.append((Choice(conv("tipoff_police.button.reveal"), f"{PREFIX}{REVEAL}:{case.id}"),))
    return tuple(rows)


def may_reveal(actor: Actor, tipoff: Tipoff) -> bool:
    """Only the head of the ward police, and only for a confidential tip-off (whose identity
    may since have been deleted: the head is then told so)."""
    return actor.has(HEAD) and tipoff.mode == "confidential"


def _mode(conv: Conversation, tipoff: Tipoff) -> str:
    if tipoff.mode == "confidential":
        return conv("tipoff_police.mode.confidential")
    return conv("tipoff_police.mode.anonymous")


async def _officer_names(conv: Conversation, messages: list[TipoffMessage]) -> dict[int, str]:
    return await conv.uow.staff.names(sorted({m.officer_id for m in messages if m.officer_id}))


def _message_line(conv: Conversation, tipoff: Tipoff, message: TipoffMessage, names: dict[int, str],
                  limit: int | None = None) -> str:
    """"• 22/11 09:05 Người báo tin #3: ..."; the police side is the unit, with the officer's
    name for officers (never shown to the reporter)."""
    if message.sender == "reporter":
        who = conv("tipoff_police.reporter", number=tipoff.number)
    elif message.officer_id in names:
        who = conv("tipoff_police.police_officer", officer=names[message.officer_id])
    else:
        who = conv("tipoff_police.police")
    text = message.text
    if limit is not None and len(text) > limit:
        text = text[:limit - 1].rstrip() + "…"
    if message.files:
        text = f"{text} {conv('tipoff_police.files', count=len(message.files))}".strip()
    at = message.at.astimezone(ZoneInfo(conv.config.timezone)).strftime("%d/%m %H:%M")
    return conv("tipoff_police.message_line", at=at, who=who, text=text)


# --- buttons ------------------------------------------------------------------------------------

async def handle_callback(conv: Conversation, actor: Actor, verb: str, case_id: int) -> list[Outgoing]:
    """"k:t:<verb>:<case id>"; an unknown verb raises ValueError (a malformed button)."""
    if verb not in (REPLY, THREAD, REVEAL):
        raise ValueError(verb)
    found = await _visible_tipoff(conv, actor, case_id)
    if found is None or (verb == REVEAL and not may_reveal(actor, found[1])):
        return casework.refused(conv, actor, f"tipoff_{verb}", str(case_id))
    case, tipoff = found
    if verb == THREAD:
        return await thread(conv, actor, case, tipoff)
    if verb == REVEAL and not tipoff.has_identity:
        return [await casework.card(conv, actor, case, conv("tipoff_police.reveal.gone"))]
    return await _start(conv, actor, REPLY_FORM if verb == REPLY else REVEAL_FORM, case)


async def _visible_tipoff(conv: Conversation, actor: Actor, case_id: int) -> tuple[Case, Tipoff] | None:
    """The tip-off case and its record, if the actor is police and may see the case."""
    case = await conv.uow.casework.get(case_id)
    if case is None or case.kind != CASE_KIND_TIPOFF or not actor.is_police or not access.can_view(actor, case):
        return None
    tipoff = await conv.uow.tipoffs.by_case(case.id)
    return (case, tipoff) if tipoff is not None else None


async def _start(conv: Conversation, actor: Actor, spec: FormSpec, case: Case) -> list[Outgoing]:
    """Open the form on the case the officer is looking at; another staff form gives way, a
    resident's report in progress does not."""
    open_form = await conv.uow.forms.active(actor.person_id)
    staff_forms = {**case_actions.FORMS, **FORMS}
    if open_form is not None and open_form.form not in staff_forms and open_form.expires_at > conv.now:
        return [casework.say(conv, conv("actions.finish_report_first"))]
    if open_form is not None:
        await conv.uow.forms.delete(open_form.id)  # type: ignore[arg-type]
    initial = {CASE_CODE: case.code, CASE_ID: case.id}
    result = engine.start(spec, secrets.token_hex(3), case_actions.form_context(conv), initial)
    await conv.uow.forms.save(FormSession(
        id=None, person_id=actor.person_id, form=spec.name, step=result.step, answers=result.answers,
        expires_at=conv.now + conv.config.form_ttl, created_at=conv.now, updated_at=conv.now,
        platform=conv.inbound.platform, chat_id=conv.inbound.chat_id,
    ))
    return [conv.reply(reply) for reply in result.replies]


async def thread(conv: Conversation, actor: Actor, case: Case, tipoff: Tipoff) -> list[Outgoing]:
    """The whole dialogue (the latest part when it is too long for one message); a recorded read."""
    await conv.uow.cases.add_event(case.id, actor_id=actor.person_id, kind="tipoff_thread_viewed", data={},
                                   at=conv.now)
    messages = await conv.uow.tipoffs.messages(tipoff.id)
    names = await _officer_names(conv, messages)
    lines = [_message_line(conv, tipoff, message, names) for message in messages]
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        if kept and size + len(line) > THREAD_CHARS:
            break
        kept.insert(0, line)
        size += len(line) + 1
    header = [conv("tipoff_police.thread.header", number=tipoff.number, code=case.code)]
    if len(kept) < len(lines):
        header.append(conv("tipoff_police.thread.earlier", count=len(lines) - len(kept)))
    body = kept or [conv("tipoff_police.no_messages")]
    buttons = ((Choice(conv("tipoff_police.button.reply"), f"{PREFIX}{REPLY}:{case.id}"),
                Choice(conv("staff.card.open"), f"k:o:{case.id}")),)
    return [casework.say(conv, "\n".join(header + body), buttons)]


# --- finished forms -----------------------------------------------------------------------------

async def finish(conv: Conversation, form_name: str, answers: dict[str, Any]) -> list[Outgoing]:
    """Check the rights again (they may have changed while the form was open), then act."""
    actor = await casework.actor_of(conv)
    found = await _visible_tipoff(conv, actor, int(answers.get(CASE_ID) or 0))
    if found is not None and form_name == REPLY_FORM.name:
        return await reply(conv, actor, *found, answers["text"])
    if found is not None and form_name == REVEAL_FORM.name and may_reveal(actor, found[1]):
        return await reveal(conv, actor, *found, answers["reason"])
    return casework.refused(conv, actor, form_name, str(answers.get(CASE_ID)))


async def reply(conv: Conversation, actor: Actor, case: Case, tipoff: Tipoff, text: str) -> list[Outgoing]:
    """Store the police message, record it on the case, push it to a confidential reporter's
    chat; an anonymous reporter reads it when checking with their code and PIN."""
    message = await conv.uow.tipoffs.add_message(tipoff.id, "police", text, [], actor.person_id, conv.now)
    await conv.uow.cases.add_event(case.id, actor_id=actor.person_id, kind="tipoff_replied",
                                   data={"message_id": message.id}, at=conv.now)
    pushed: list[Outgoing] = []
    note = conv("tipoff_police.replied.stored", number=tipoff.number)
    if tipoff.mode == "confidential":
        pushed = await _push_to_reporter(conv, tipoff, text)
        note = conv("tipoff_police.replied.sent", number=tipoff.number) if pushed else \
            conv("tipoff_police.replied.undelivered", number=tipoff.number)
    log.info("tip-off reply code=%s reporter=#%d person=%s pushed=%s", case.code, tipoff.number,
             actor.person_id, bool(pushed))
    return [await casework.card(conv, actor, case, note)] + pushed


async def _push_to_reporter(conv: Conversation, tipoff: Tipoff, text: str) -> list[Outgoing]:
    """The reply in the reporter's chat, ephemeral (no row links the chat to the tip-off once it
    is sent; no dedupe key names it); none when the identity is gone or cannot be opened."""
    try:
        chat = await conv.uow.tipoffs.reporter_chat(tipoff.id)
        lang = await _reporter_language(conv, tipoff) if chat is not None else DEFAULT_LANGUAGE
    except SealBroken:
        log.error("tip-off reply not delivered: the sealed identity cannot be opened reporter=#%d", tipoff.number)
        return []
    if chat is None:
        return []
    channel, chat_id = chat
    buttons = ((Choice(conv.t("tipoff_police.push.more", lang), REPORTER_BUTTON.format(id=tipoff.id)),),)
    body = Reply(text=conv.t("tipoff_police.push", lang, number=tipoff.number, text=text), buttons=buttons)
    urgent = tipoff.happening_now and conv.now - tipoff.created_at < HAPPENING_WINDOW
    return [Outgoing(channel=channel, chat_id=chat_id, reply=body, ephemeral=True,
                     not_before=quiet.not_before(conv.config, conv.now, urgent=urgent))]


async def _reporter_language(conv: Conversation, tipoff: Tipoff) -> str:
    """The language of the reporter's account, if it is known here; else Vietnamese."""
    identity = await conv.uow.tipoffs.open_identity(tipoff.id)
    if identity and identity.get("platform") and identity.get("external_id"):
        person = await conv.uow.people.by_identity(str(identity["platform"]), str(identity["external_id"]))
        if person is not None and person.language in LANGUAGES:
            return person.language
    return DEFAULT_LANGUAGE


async def reveal(conv: Conversation, actor: Actor, case: Case, tipoff: Tipoff, reason: str) -> list[Outgoing]:
    """The identity to the head alone (ephemeral), recorded with the reason; never logged."""
    try:
        identity = await conv.uow.tipoffs.open_identity(tipoff.id)
    except SealBroken:
        log.error("identity reveal failed: no key opens it code=%s reporter=#%d person=%s",
                  case.code, tipoff.number, actor.person_id)
        return [await casework.card(conv, actor, case, conv("tipoff_police.reveal.broken"))]
    if identity is None:
        return [await casework.card(conv, actor, case, conv("tipoff_police.reveal.gone"))]
    await conv.uow.cases.add_event(case.id, actor_id=actor.person_id, kind="identity_revealed",
                                   data={"reason": reason}, at=conv.now)
    log.warning("identity revealed code=%s reporter=#%d person=%s", case.code, tipoff.number, actor.person_id)
    missing = conv("tipoff_police.reveal.missing")
    text = conv("tipoff_police.reveal.identity", number=tipoff.number, code=case.code,
                name=identity.get("display_name") or missing, phone=identity.get("phone") or missing,
                platform=identity.get("platform") or missing, account=identity.get("external_id") or missing)
    buttons = ((Choice(conv("staff.card.open"), f"k:o:{case.id}"),),)
    return [conv.reply(Reply(text=text, buttons=buttons), ephemeral=True)]
