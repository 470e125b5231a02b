"""The periodic jobs act on stored rows: expired forms and old update ids are removed."""

from datetime import datetime, timedelta, timezone

from handlers.domain.model import FormSession
from scheduler.jobs import prune_inbound_updates, purge_expired_forms

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)


class FixedClock:
    def __init__(self, now):
        self.current = now

    def now(self):
        return self.current


async def test_expired_forms_are_purged_and_fresh_ones_kept(uow_factory):
    async with uow_factory() as uow:
        old = await uow.people.create(platform="telegram", external_id="1", display_name=None, language="vi", consent_version="v", now=NOW)
        fresh = await uow.people.create(platform="telegram", external_id="2", display_name=None, language="vi", consent_version="v", now=NOW)
        for person, expires in ((old, NOW - timedelta(minutes=1)), (fresh, NOW + timedelta(hours=1))):
            await uow.forms.save(FormSession(None, person.id, "dispute", "field", {"_t": "x"}, expires, NOW, NOW))
        await uow.commit()
    assert await purge_expired_forms(uow_factory, FixedClock(NOW)) == 1
    async with uow_factory() as uow:
        assert await uow.forms.active(old.id) is None
        assert await uow.forms.active(fresh.id) is not None


async def test_old_update_ids_are_pruned(uow_factory):
    async with uow_factory() as uow:
        await uow.updates.record("telegram", "1", "old", NOW - timedelta(days=8))
        await uow.updates.record("telegram", "1", "recent", NOW - timedelta(days=1))
        await uow.commit()
    assert await prune_inbound_updates(uow_factory, FixedClock(NOW)) == 1
    async with uow_factory() as uow:
        assert not await uow.updates.seen("telegram", "1", "old")
        assert await uow.updates.seen("telegram", "1", "recent")
