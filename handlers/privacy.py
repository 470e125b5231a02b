"""Everyone's rights over their data (Personal Data Protection Law 91/2025/QH15, Decree 356/2025).

`/privacy` (or the menu's "🔒 Your data") says what is kept, why, who sees it and for how long,
and offers: export my data (a JSON file sent in chat), withdraw consent, delete my data. The
last two ask for a confirmation, then act and acknowledge at once (the law allows 2 working
days); both remove or unlink the person's data the same way (storage/privacy.py). Every request
is a `privacy_requests` row with its dates and counts, never personal data.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from handlers import casework, notify
from handlers.forms.dispute import DISPUTE_FORM
from handlers.i18n import LANGUAGES
from handlers.messages import Choice, OutFile, Outgoing, Reply

if TYPE_CHECKING:
    from handlers.services import Conversation

log = logging.getLogger("hoagiai.privacy")

PREFIX = "pv:"
EXPORT, WITHDRAW, DELETE, KEEP = "pv:x", "pv:w", "pv:d", "pv:n"
CONFIRM = ":y"
KINDS = {WITHDRAW: "withdraw", DELETE: "delete"}
FILE_NAME = "du-lieu-cua-toi.json"
JSON_MIME = "application/json"
MAX_EXPORTED_CASES = 10_000


async def show(conv: Conversation) -> list[Outgoing]:
    """The notice and, for someone who consented, the three requests. Before consent nothing is
    stored, so the notice is shown in both languages, Vietnamese first, without buttons."""
    years = conv.config.retention_years
    if conv.person is None:
        text = "\n\n".join(conv.t("privacy.notice", lang, years=years) for lang in LANGUAGES)
        return [conv.say(text)]
    buttons = ((Choice(conv("privacy.export"), EXPORT),),
               (Choice(conv("privacy.withdraw"), WITHDRAW),),
               (Choice(conv("privacy.delete"), DELETE),),
               (Choice(conv("privacy.back"), "m:c"),))
    return [conv.say(conv("privacy.notice", years=years), buttons)]


async def handle_callback(conv: Conversation, data: str) -> list[Outgoing]:
    if data == EXPORT:
        return await export(conv)
    if data in KINDS:
        return await ask(conv, data)
    if data.endswith(CONFIRM) and data.removesuffix(CONFIRM) in KINDS:
        return await erase(conv, KINDS[data.removesuffix(CONFIRM)])
    if data == KEEP:
        return [conv.say(conv("privacy.kept"))]
    return [conv.say(conv("form.button_unknown"))]


# --- export ---------------------------------------------------------------------------------

async def export(conv: Conversation) -> list[Outgoing]:
    """The person's own data as a JSON file, in the same message as a short note."""
    assert conv.person is not None
    record = await my_data(conv)
    data = json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8")
    sha256 = await conv.uow.blobs.put(data, JSON_MIME, conv.now)
    detail = {"cases": len(record["cases"]), "accounts": len(record["accounts"]), "bytes": len(data)}
    request_id = await conv.uow.privacy.record(conv.person.id, "export", requested_at=conv.now, done_at=conv.now,
                                               detail=detail)
    log.info("privacy export request=%s cases=%d", request_id, detail["cases"])
    file = OutFile("document", sha256, FILE_NAME, JSON_MIME)
    return [conv.reply(Reply(conv("privacy.export_ready"), files=(file,)))]


async def my_data(conv: Conversation) -> dict[str, Any]:
    """What the export holds: the person's own records only; never other people's contacts
    (not even the phone a leader typed for a resident) nor staff's notes on the cases."""
    assert conv.person is not None
    stored = await conv.uow.privacy.profile(conv.person.id)
    cases = await conv.uow.cases.for_reporter(conv.person.id, MAX_EXPORTED_CASES)
    return {
        "exported_at": conv.now.isoformat(),
        **stored,
        "cases": [_case(conv, case) for case in cases],
        "open_form": await _open_form(conv),
    }


def _case(conv: Conversation, case: Any) -> dict[str, Any]:
    return {"code": case.code, "field": conv(f"field.{case.field}"), "summary": case.summary,
            "status": case.status, "what_you_are_told": notify.plain_state(conv.t, conv.lang, case),
            "created_at": case.created_at.isoformat(),
            "closed_at": case.closed_at.isoformat() if case.closed_at else None}


async def _open_form(conv: Conversation) -> dict[str, Any] | None:
    """The form in progress; its answers only for the person's own report (a leader's report
    for a resident, or a staff form, holds other people's details)."""
    assert conv.person is not None
    session = await conv.uow.forms.active(conv.person.id)
    if session is None:
        return None
    form: dict[str, Any] = {"form": session.form, "step": session.step, "started_at": session.created_at.isoformat(),
                            "expires_at": session.expires_at.isoformat()}
    if session.form == DISPUTE_FORM.name:
        form["answers"] = {key: value for key, value in session.answers.items() if key != "files"}
    return form


# --- withdraw consent, delete ---------------------------------------------------------------

async def ask(conv: Conversation, choice: str) -> list[Outgoing]:
    """Nothing is removed on one tap: the person confirms first. Staff are told their roles go too."""
    kind = KINDS[choice]
    lines = [conv(f"privacy.confirm_{kind}")]
    if (await casework.actor_of(conv)).is_staff:
        lines.append(conv("privacy.staff_note"))
    buttons = ((Choice(conv(f"privacy.yes_{kind}"), choice + CONFIRM),), (Choice(conv("privacy.no"), KEEP),))
    return [conv.say("\n\n".join(lines), buttons)]


async def erase(conv: Conversation, kind: str) -> list[Outgoing]:
    """Done at once, in this transaction; the acknowledgement is scrubbed from the outbox once
    sent, like a message before consent, since the person is no longer known."""
    assert conv.person is not None
    detail = await conv.uow.privacy.erase(conv.person.id, conv.now)
    request_id = await conv.uow.privacy.record(conv.person.id, kind, requested_at=conv.now, done_at=conv.now,
                                               detail=detail)
    log.info("privacy %s request=%s %s", kind, request_id, " ".join(f"{k}={v}" for k, v in sorted(detail.items())))
    return [conv.reply(Reply(conv(f"privacy.done_{kind}")), ephemeral=True)]
