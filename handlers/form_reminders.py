"""Abandoned forms: one reminder before they expire.

A resident who stopped half-way through a report (a call, a meal) would otherwise lose their
answers without a word when the form expires. Once per abandonment, `form_reminder_before` the
expiry, the person is reminded in the chat they were using, with Continue and Cancel. During
quiet hours the reminder waits for the morning and the form is kept long enough after it to be
finished. Answering again resets the reminder (storage sets `reminded_at` back to NULL).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from handlers import quiet
from handlers.i18n import DEFAULT_LANGUAGE
from handlers.messages import Choice, Outgoing, Reply
from handlers.ports import Translator, UnitOfWork
from handlers.tipoffs import THREAD_FORM

if TYPE_CHECKING:
    from handlers.services import CoreConfig

log = logging.getLogger("hoagiai.form_reminders")

CONTINUE, CANCEL = "m:c", "m:x"  # menu actions: resume the form, cancel it (handlers/services.py)


async def remind(uow: UnitOfWork, t: Translator, config: CoreConfig, now: datetime, limit: int = 1000) -> int:
    """Remind the people whose forms expire soon; returns how many were reminded."""
    forms = await uow.forms.due_for_reminder(now, config.form_reminder_before, limit)  # type: ignore[attr-defined]
    for form in forms:
        if form.form == THREAD_FORM:  # adding to a tip-off's dialogue: short-lived, nothing to lose
            await uow.forms.mark_reminded(form.id, now, form.expires_at)  # type: ignore[attr-defined]
            continue
        send_at = quiet.not_before(config, now)
        keep_until = max(form.expires_at, (send_at or now) + config.form_reminder_before)
        contacts = [c for c in await uow.staff.contacts([form.person_id])  # type: ignore[attr-defined]
                    if (c.platform, c.chat_id) == (form.platform, form.chat_id)]
        lang = contacts[0].language if contacts else DEFAULT_LANGUAGE
        until = keep_until.astimezone(ZoneInfo(config.timezone)).strftime("%H:%M %d/%m")
        buttons = ((Choice(t("forms.reminder.continue", lang), CONTINUE), Choice(t("forms.reminder.cancel", lang), CANCEL)),)
        if form.platform and form.chat_id:
            await uow.outbox.add(Outgoing(form.platform, form.chat_id, Reply(t("forms.reminder", lang, until=until), buttons),
                                          dedupe_key=f"form-reminder:{form.id}:{form.updated_at.isoformat()}",
                                          not_before=send_at), now)
        await uow.forms.mark_reminded(form.id, now, keep_until)  # type: ignore[attr-defined]
    if forms:
        log.info("abandoned forms reminded count=%d", len(forms))
    return len(forms)
