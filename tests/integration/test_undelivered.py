"""Messages the outbox gave up on, listed for the ward police: staff by name and role, residents
only as the reporter of their cases; nobody else may see the list."""

from __future__ import annotations

from handlers.ports import PermanentFailure
from tests.integration.test_case_actions import (  # noqa: F401 (fixtures)
    LEADER, OFFICER, RESIDENT, classify, harness, staff, ward,
)


class Blocking:
    """The channel of the harness, with chats that have blocked the bot."""

    def __init__(self, channel, blocked):
        self.channel, self.blocked = channel, set(blocked)
        self.name = channel.name

    async def send(self, chat_id, payload):
        if chat_id in self.blocked:
            raise PermanentFailure("Forbidden: bot was blocked by the user")
        await self.channel.send(chat_id, payload)


async def test_officers_see_who_could_not_be_reached(staff):
    h = staff
    h.sender.channels["telegram"] = Blocking(h.telegram, {RESIDENT})
    await h.send(user=OFFICER, text="/undelivered")
    assert "Every message of the last 14 days was delivered" in h.last(OFFICER).text

    await classify(h)  # the resident's notice fails: they blocked the bot
    await h.send(user=OFFICER, text="/undelivered")
    shown = h.last(OFFICER).text
    assert "1 people could not be reached" in shown
    assert f"the reporter of {h.case_code}, telegram: 1 messages" in shown and "blocked" in shown
    assert RESIDENT not in shown  # never the account

    h.sender.channels["telegram"] = Blocking(h.telegram, {RESIDENT, LEADER})
    await h.press("Undelivered", OFFICER)  # the police menu's button
    await h.send(user=LEADER, text="/cases")  # the leader's answer fails
    await h.send(user=OFFICER, text="/undelivered")
    assert "(neighbourhood leader)" in h.last(OFFICER).text and "2 people" in h.last(OFFICER).text


async def test_only_police_see_the_list(staff):
    h = staff
    for user in (LEADER, RESIDENT):
        await h.send(user=user, text="/undelivered")
        assert "Only ward police officers" in h.last(user).text
        await h.send(user=user, callback="k:u")
        assert "could not be reached" not in h.last(user).text


async def test_help_lists_the_staff_commands_to_staff_only(staff):
    h = staff
    await h.send(user=OFFICER, text="/help")
    officer_help = next(r.text for r in reversed(h.replies(OFFICER)) if r.text.startswith("Help:"))
    assert "/duty" in officer_help and "/undelivered" in officer_help and "/cases" in officer_help
    await h.send(user=LEADER, text="/help")
    leader_help = next(r.text for r in reversed(h.replies(LEADER)) if r.text.startswith("Help:"))
    assert "/cases" in leader_help and "/duty" not in leader_help
    await h.send(user=RESIDENT, text="/help")
    resident_help = next(r.text for r in reversed(h.replies(RESIDENT)) if r.text.startswith("Help:"))
    assert "/cases" not in resident_help
