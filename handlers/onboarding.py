"""Invites: whoever opens `t.me/<bot>?start=<code>` gets the role the code grants.

A code works once, until it expires or is revoked; only its hash is stored. An invite made
for a person of the ward file links the account to that person (and everything the account
had, such as its reports, moves with it).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from handlers.domain.invites import hash_code, problem
from handlers.messages import Outgoing

if TYPE_CHECKING:
    from handlers.services import Conversation

log = logging.getLogger("hoagiai.onboarding")


async def redeem(conv: Conversation, code: str) -> list[Outgoing]:
    """For a person who has consented already."""
    from handlers.services import menu

    assert conv.person is not None
    invite = await conv.uow.staff.invite_by_hash(hash_code(code))
    key = problem(invite, conv.now)
    if key is not None or invite is None:
        log.warning("invite refused person=%s reason=%s", conv.person.id, key)
        return await menu(conv, conv(key or "invite.unknown"))
    if not await conv.uow.staff.use_invite(invite.id, conv.person.id, conv.now):
        return await menu(conv, conv("invite.used"))
    if invite.person_id is not None:
        await conv.uow.staff.merge_into(conv.person.id, invite.person_id, conv.now)
        person = await conv.uow.people.by_identity(conv.inbound.user.platform, conv.inbound.user.external_id)
        assert person is not None
        conv = replace(conv, person=person, lang=person.language)
    assert conv.person is not None
    await conv.uow.staff.add_membership(conv.person.id, invite.unit_id, invite.role, conv.now)
    unit = await conv.uow.units.get(invite.unit_id)
    log.info("invite redeemed invite=%s person=%s role=%s unit=%s", invite.id, conv.person.id, invite.role,
             unit.code if unit else invite.unit_id)
    return await menu(conv, conv("invite.accepted", role=conv(f"role.{invite.role}"), unit=unit.name if unit else ""))


async def link_new_account(conv: Conversation, code: str, lang: str, consent_version: str) -> list[Outgoing] | None:
    """A new account consenting through an invite for a ward-file person becomes that person.
    None when the invite is not of that kind (the caller creates the person as usual)."""
    from handlers.services import menu

    invite = await conv.uow.staff.invite_by_hash(hash_code(code))
    if problem(invite, conv.now) is not None or invite is None or invite.person_id is None:
        return None
    user = conv.inbound.user
    await conv.uow.staff.link_identity(invite.person_id, platform=user.platform, external_id=user.external_id,
                                       display_name=user.display_name, language=lang,
                                       consent_version=consent_version, now=conv.now)
    await conv.uow.staff.use_invite(invite.id, invite.person_id, conv.now)
    await conv.uow.staff.add_membership(invite.person_id, invite.unit_id, invite.role, conv.now)
    person = await conv.uow.people.by_identity(user.platform, user.external_id)
    assert person is not None
    conv = replace(conv, person=person, lang=person.language)
    unit = await conv.uow.units.get(invite.unit_id)
    log.info("invite redeemed invite=%s person=%s (ward file) unit=%s", invite.id, person.id,
             unit.code if unit else invite.unit_id)
    return await menu(conv, conv("consent.thanks") + "\n\n" + conv(
        "invite.accepted", role=conv(f"role.{invite.role}"), unit=unit.name if unit else ""))
