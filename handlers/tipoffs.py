"""The reporter's side of a crime tip-off: the choice of mode, the evidence cleaned of metadata,
the submission with its receipt, the status check by code and PIN, and adding information.

Privacy is the point of every line here (Bộ luật Tố tụng hình sự Điều 56, Luật Tố cáo Điều 47):
- the case never names the reporter (`reporter_id` and `contact_phone` stay NULL, the `created`
  event has no actor); a confidential reporter's identity is sealed apart from the case
  (`uow.tipoffs.create`), an anonymous one's is not kept at all;
- the receipt code and PIN are shown once, in an ephemeral reply (the outbox scrubs it once
  sent), and only their hashes are stored; the form holding the draft is deleted on submission;
- the status check works from any account; failed checks count per account and per receipt,
  and a wrong PIN reads like an unknown code;
- the reporter adds information through a short-lived session that holds the tip-off's id
  sealed (`uow.identities.seal_token`), so no row links the account to the tip-off in clear;
- logs name the case and the reporter number, never the person, account or chat.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import unicodedata
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from handlers import duty, evidence, intake, notify, step_deadlines, urgent
from handlers.domain import receipts, routing
from handlers.domain.model import CASE_KIND_TIPOFF, Case, FormSession, NewCase
from handlers.domain.roles import POLICE_ROLES
from handlers.domain.triage import assess_urgency
from handlers.domain.workflow import CRIME
from handlers.forms.tipoff import CONFIDENTIAL, FORMS, MODE_KEY, YES
from handlers.i18n import DEFAULT_LANGUAGE
from handlers.messages import Choice, FileRef, Inbound, Outgoing, Reply
from handlers.ports import Tipoff, TipoffMessage
from handlers.text import clean_text, has_letters_or_digits

if TYPE_CHECKING:
    from handlers.services import Conversation

log = logging.getLogger("hoagiai.tipoffs")

ENTRY, CHECK = "m:t", "m:k"  # the resident's menu: make a tip-off, check one
PREFIX = "tp:"
MODE_ANONYMOUS, MODE_CONFIDENTIAL = "tp:m:a", "tp:m:c"
MODES = {MODE_ANONYMOUS: "anonymous", MODE_CONFIDENTIAL: CONFIDENTIAL}
WRITE, DONE = "tp:w:", "tp:d"  # add information (pushed replies carry the tip-off id), stop adding
THREAD_FORM = "tipoff_thread"
THREAD_KEY = "_thread"
THREAD_TTL = timedelta(minutes=30)
TIPOFF_FIELD = "public_order"
FAILED_CHECKS_PER_HOUR = 10
MAX_MESSAGE = 2000
SHOWN_MESSAGES = 10
PIN_AT_END = re.compile(r"(?:^|\s)(\d{6})\s*$")


def say(conv: Conversation, text: str, buttons: tuple[tuple[Choice, ...], ...] = ()) -> Outgoing:
    """Every reply about a tip-off is ephemeral: once sent, the outbox keeps neither the text nor
    the chat, so no row ties an account to a tip-off."""
    return conv.reply(Reply(text, buttons), ephemeral=True)


# --- before the form ---------------------------------------------------------------------------

def choose_mode(conv: Conversation) -> list[Outgoing]:
    """What anonymous and confidential mean, then the choice (before any answer is taken)."""
    buttons = ((Choice(conv("tipoff.mode.choose.anonymous"), MODE_ANONYMOUS),),
               (Choice(conv("tipoff.mode.choose.confidential"), MODE_CONFIDENTIAL),),
               (Choice(conv("tipoff.back"), "m:c"),))
    return [say(conv, conv("tipoff.mode.explain"), buttons)]


def initial_answers(data: str) -> dict[str, Any] | None:
    """The form's first answers for a mode button, or None for an unknown one."""
    mode = MODES.get(data)
    return {MODE_KEY: mode} if mode else None


# --- evidence ----------------------------------------------------------------------------------

async def clean_files(conv: Conversation, keep_location: bool) -> Inbound | str:
    """The update with its files replaced by copies kept in the blob store, photos cleaned of
    metadata (GPS kept only when the reporter shared the location), so no screen or export ever
    serves the original. A message key instead when a photo cannot be read or was not fetched."""
    inbound = conv.inbound
    cleaned = []
    for file in inbound.files:
        if file.data is None:
            return "tipoff.file_unreadable"
        data = file.data
        if evidence.is_image(file.mime_type, file.kind):
            data = await asyncio.to_thread(evidence.clean_image, file.data, file.mime_type,
                                           keep_location=keep_location)  # CPU-bound: off the event loop
            if data is None:
                return "tipoff.file_unreadable"
        mime = file.mime_type or "application/octet-stream"
        digest = await conv.uow.blobs.put(data, mime, conv.now)
        cleaned.append(FileRef(kind=file.kind, file_id=f"blob:{digest}", sha256=digest, size=len(data),
                               mime_type=mime, file_name=file.file_name))
    return replace(inbound, files=tuple(cleaned))


# --- submission --------------------------------------------------------------------------------

async def submit(conv: Conversation, answers: dict[str, Any]) -> list[Outgoing]:
    """The case, the tip-off beside it with its receipt, the police told; the receipt shown once."""
    assert conv.person is not None
    mode = answers[MODE_KEY]
    happening_now = answers.get("happening_now") == YES
    ward, _ = await conv.wards.get(conv.uow, conv.config.ward_code, conv.now)
    departments = await intake.departments_of(conv, ward)
    police = routing.police_departments(departments)
    urgency = assess_urgency(answers["description"], happening_now)
    deadline = step_deadlines.deadline_for(conv.config, kind=CASE_KIND_TIPOFF, step=1, urgent=urgency.urgent,
                                           intervention=None, started_at=conv.now)
    case = await conv.uow.cases.add(NewCase(
        kind=CASE_KIND_TIPOFF, field=TIPOFF_FIELD, nature=CRIME, confidential=mode == CONFIDENTIAL,
        commune_unit_id=ward.id if ward else None, group_unit_id=None,
        address=answers.get("address"), latitude=answers.get("latitude"), longitude=answers.get("longitude"),
        summary=_summary(conv, answers), people_count=None, danger_now=happening_now, urgent=urgency.urgent,
        urgency_reasons=list(urgency.reasons), reporter_id=None, contact_phone=None, created_at=conv.now,
        code_year=conv.now.astimezone(ZoneInfo(conv.config.timezone)).year, channel=conv.inbound.platform,
        lead_unit_id=police[0].id if police else None, step_started_at=conv.now,
        step_due_at=deadline.due_at if deadline else None, step_rule=deadline.rule_id if deadline else None,
    ))
    identity = _identity(conv, answers) if mode == CONFIDENTIAL else None
    receipt = await conv.uow.tipoffs.create(case.id, mode, happening_now, identity, conv.now)
    await step_deadlines.sync_reminder(conv, None, case)
    await conv.uow.cases.add_event(case.id, actor_id=None, kind="created", at=conv.now, data={
        "urgent": urgency.urgent, "reasons": list(urgency.reasons), "channel": conv.inbound.platform,
        "tipoff": receipt.number, "mode": mode})
    for file in answers.get("files") or []:
        await conv.uow.cases.add_attachment(case.id, "blob", FileRef(**file), conv.now)
    log.info("tipoff created case=%s number=%d mode=%s urgent=%s", case.code, receipt.number, mode, urgency.urgent)
    text = conv("tipoff.received", number=receipt.number, code=receipt.code, pin=receipt.pin)
    if urgency.urgent:
        text += "\n\n" + conv("tipoff.urgent")
    replies = [say(conv, text, ((Choice(conv("tipoff.menu"), "m:c"),),))]
    if urgent.needs_alert(None, case):
        replies += await urgent.start(conv.uow, conv.t, conv.config, case, "", conv.now)
    return replies + await intake.announce_new_case(conv, case, departments, "")


def _summary(conv: Conversation, answers: dict[str, Any]) -> str:
    """What officers read on the card: the account, then when and who, in the ward's language."""
    lang = DEFAULT_LANGUAGE
    lines = [answers["description"], "", conv.t("tipoff.summary.when", lang, value=answers["when"])]
    if answers.get("who"):
        lines.append(conv.t("tipoff.summary.who", lang, value=answers["who"]))
    return "\n".join(lines)


def _identity(conv: Conversation, answers: dict[str, Any]) -> dict[str, Any]:
    """What is sealed for a confidential reporter: enough for the police to reach them."""
    assert conv.person is not None
    user = conv.inbound.user
    return {"person_id": conv.person.id, "platform": user.platform, "external_id": user.external_id,
            "chat_id": conv.inbound.chat_id, "display_name": user.display_name, "phone": answers.get("phone")}


# --- status by code and PIN --------------------------------------------------------------------

def check_prompt(conv: Conversation) -> list[Outgoing]:
    return [say(conv, conv("tipoff.check.prompt"), ((Choice(conv("tipoff.back"), "m:c"),),))]


def parse_receipt(text: str) -> tuple[str, str] | None:
    """(code, PIN) from one message such as "TB-7KX9Q-2QMFA-H3RZ8 123456", typed any way."""
    folded = unicodedata.normalize("NFKC", text).strip()
    match = PIN_AT_END.search(folded)
    if match is None:
        return None
    code = receipts.normalise_code(folded[:match.start()])
    return (code, match.group(1)) if code else None


def looks_like_receipt(text: str | None) -> bool:
    return bool(text) and parse_receipt(text or "") is not None


async def check(conv: Conversation, text: str, session: FormSession | None) -> list[Outgoing]:
    """The status, the police's replies and a way to add information, for the right code and PIN."""
    assert conv.person is not None
    parsed = parse_receipt(text)
    if parsed is None:
        return check_prompt(conv)
    since = conv.now - timedelta(hours=1)
    if await conv.uow.receipt_checks.failed_since(conv.person.id, since) >= FAILED_CHECKS_PER_HOUR:
        log.warning("receipt checks refused: too many failures in the hour")
        return [say(conv, conv("tipoff.check.too_many"))]
    found = await conv.uow.tipoffs.lookup(parsed[0], parsed[1], conv.now)
    if found.outcome == "locked":
        await conv.uow.receipt_checks.record_failure(conv.person.id, conv.now)
        until = found.locked_until.astimezone(ZoneInfo(conv.config.timezone)).strftime("%H:%M")  # type: ignore[union-attr]
        return [say(conv, conv("tipoff.check.locked", until=until))]
    if found.outcome != "found" or found.tipoff is None:
        await conv.uow.receipt_checks.record_failure(conv.person.id, conv.now)
        return [say(conv, conv("tipoff.check.wrong", tries=receipts.MAX_TRIES))]
    return await _open_thread(conv, found.tipoff, session)


async def _open_thread(conv: Conversation, tipoff: Tipoff, session: FormSession | None) -> list[Outgoing]:
    """The tip-off's status and dialogue; unless another form is open, a session to add information."""
    assert conv.person is not None
    case = await conv.uow.casework.get(tipoff.case_id)  # type: ignore[attr-defined]
    view = _status_view(conv, tipoff, case, await conv.uow.tipoffs.messages(tipoff.id))
    if session is not None and session.form != THREAD_FORM:
        return [say(conv, view), say(conv, conv("tipoff.thread.form_open"))]
    if session is not None:
        await conv.uow.forms.delete(session.id)  # type: ignore[arg-type]
    await conv.uow.forms.save(FormSession(
        id=None, person_id=conv.person.id, form=THREAD_FORM, step="message",
        answers={THREAD_KEY: conv.uow.identities.seal_token({"tipoff_id": tipoff.id}), "_t": secrets.token_hex(3)},
        expires_at=conv.now + THREAD_TTL, created_at=conv.now, updated_at=conv.now,
        platform=conv.inbound.platform, chat_id=conv.inbound.chat_id))
    text = view + "\n\n" + conv("tipoff.thread.prompt", minutes=int(THREAD_TTL.total_seconds() // 60))
    return [say(conv, text, _thread_buttons(conv))]


def _status_view(conv: Conversation, tipoff: Tipoff, case: Case | None, messages: list[TipoffMessage]) -> str:
    zone = ZoneInfo(conv.config.timezone)
    state = notify.plain_state(conv.t, conv.lang, case) if case is not None else conv("tipoff.check.gone")
    lines = [conv("tipoff.check.header", number=tipoff.number,
                  at=tipoff.created_at.astimezone(zone).strftime("%d/%m/%Y %H:%M"), state=state)]
    shown = messages[-SHOWN_MESSAGES:]
    if shown:
        lines += ["", conv("tipoff.check.messages")]
    for message in shown:
        who = conv("tipoff.sender.police") if message.sender == "police" else conv("tipoff.sender.you")
        lines.append(conv("tipoff.check.message", at=message.at.astimezone(zone).strftime("%d/%m %H:%M"), who=who,
                          text=message.text or conv("tipoff.check.files", count=len(message.files))))
    return "\n".join(lines)


def _thread_buttons(conv: Conversation) -> tuple[tuple[Choice, ...], ...]:
    return ((Choice(conv("tipoff.thread.done"), DONE),),)


# --- adding information ------------------------------------------------------------------------

async def write_from_push(conv: Conversation, data: str, session: FormSession | None) -> list[Outgoing]:
    """"Add information" under a reply the police pushed to a confidential reporter: allowed only
    from the chat sealed with the tip-off, so a forwarded or forged button opens nothing."""
    number = data.removeprefix(WRITE)
    tipoff = await conv.uow.tipoffs.get(int(number)) if number.isdigit() else None
    chat = await conv.uow.tipoffs.reporter_chat(tipoff.id) if tipoff is not None else None
    if tipoff is None or chat != (conv.inbound.platform, conv.inbound.chat_id):
        return [say(conv, conv("form.button_unknown"))]
    return await _open_thread(conv, tipoff, session)


async def thread_input(conv: Conversation, session: FormSession) -> list[Outgoing]:
    """A message or files typed while the session is open become part of the dialogue."""
    opened = conv.uow.identities.open_token(session.answers.get(THREAD_KEY, ""), int(THREAD_TTL.total_seconds()) * 2)
    tipoff = await conv.uow.tipoffs.get(int(opened["tipoff_id"])) if opened else None
    if tipoff is None:
        await conv.uow.forms.delete(session.id)  # type: ignore[arg-type]
        return [say(conv, conv("tipoff.thread.closed"))]
    inbound: Inbound | str = await clean_files(conv, keep_location=False) if conv.inbound.files else conv.inbound
    if isinstance(inbound, str):
        return [say(conv, conv(inbound), _thread_buttons(conv))]
    text = clean_text(inbound.text) if inbound.text else ""
    if not inbound.files and (not text or not has_letters_or_digits(text)):
        return [say(conv, conv("tipoff.thread.need_text"), _thread_buttons(conv))]
    if len(text) > MAX_MESSAGE:
        return [say(conv, conv("actions.form.too_long", max=MAX_MESSAGE, length=len(text)), _thread_buttons(conv))]
    files = [{"kind": f.kind, "file_id": f.file_id, "sha256": f.sha256, "size": f.size, "mime_type": f.mime_type,
              "file_name": f.file_name} for f in inbound.files]
    message = await conv.uow.tipoffs.add_message(tipoff.id, "reporter", text, files, None, conv.now)
    for file in inbound.files:
        await conv.uow.cases.add_attachment(tipoff.case_id, "blob", file, conv.now)
    await conv.uow.cases.add_event(tipoff.case_id, actor_id=None, kind="tipoff_reporter_wrote",
                                   data={"message_id": message.id, "files": len(files)}, at=conv.now)
    session.expires_at, session.updated_at = conv.now + THREAD_TTL, conv.now
    session.answers = {**session.answers, THREAD_KEY: conv.uow.identities.seal_token({"tipoff_id": tipoff.id})}
    await conv.uow.forms.save(session)
    log.info("tipoff message from reporter number=%d files=%d", tipoff.number, len(files))
    return [say(conv, conv("tipoff.thread.sent"), _thread_buttons(conv))] + await _tell_police(conv, tipoff, message)


async def end_thread(conv: Conversation, session: FormSession | None) -> FormSession | None:
    """Closes the adding-information session; returns the session still open (another form)."""
    if session is not None and session.form == THREAD_FORM:
        await conv.uow.forms.delete(session.id)  # type: ignore[arg-type]
        return None
    return session


def thread_prompt(conv: Conversation, note: str | None = None) -> list[Outgoing]:
    """The open session shown again (after /start, /help, a language change)."""
    text = conv("tipoff.thread.prompt", minutes=int(THREAD_TTL.total_seconds() // 60))
    return [say(conv, f"{note}\n\n{text}" if note else text, _thread_buttons(conv))]


async def _tell_police(conv: Conversation, tipoff: Tipoff, message: TipoffMessage) -> list[Outgoing]:
    """Each officer and head of the ward police: the reporter, by number, wrote again."""
    case = await conv.uow.casework.get(tipoff.case_id)  # type: ignore[attr-defined]
    if case is None:
        return []
    units = await duty.ward_police(conv.uow, conv.config, case.commune_unit_id)
    people = await conv.uow.staff.holders(units, sorted(POLICE_ROLES)) if units else []  # type: ignore[attr-defined]
    replies = []
    for contact in await conv.uow.staff.contacts(people):  # type: ignore[attr-defined]
        lang = contact.language
        text = conv.t("tipoff.police.reporter_wrote", lang, number=tipoff.number, code=case.code,
                      text=intake.preview(message.text) or conv.t("tipoff.check.files", lang, count=len(message.files)))
        buttons = ((Choice(conv.t("staff.card.open", lang), f"k:o:{case.id}"),),)
        replies.append(Outgoing(contact.platform, contact.chat_id, Reply(text, buttons),
                                dedupe_key=f"tipoffmsg:{message.id}:{contact.person_id}:{contact.platform}"))
    return replies


def is_tipoff_form(session: FormSession | None) -> bool:
    return session is not None and session.form in FORMS
