"""Importing ward files into real databases: created once, updated in place, roles synced, wards kept apart.

Each test runs on SQLite and, with HOAGIAI_TEST_POSTGRES_URL set, on PostgreSQL too.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from storage.tables import MembershipRow, PersonRow, UnitRow
from storage.ward_file import WardFile, read_ward_file
from storage.ward_import import IN_CHUNK, ImportSummary, WardImportError, import_ward

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "ward.example.yaml"
NOW = datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc)
LATER = NOW + timedelta(days=30)

SMALL = """\
ward: {code: an-binh, name: Xã An Bình}
groups:
  - {code: an-binh-thon-1, name: Thôn 1}
  - {code: an-binh-thon-2, name: Thôn 2}
departments:
  - {code: an-binh-ca, name: Công an xã, function: police}
teams:
  - {code: an-binh-hg-1, name: Tổ hòa giải thôn 1, group: an-binh-thon-1}
people:
  - ref: an-binh-lan
    name: Nguyễn Thị Lan
    phone: "0900 000 301"
    roles: [{role: leader, unit: an-binh-thon-1}, {role: mediator, unit: an-binh-hg-1}]
  - ref: an-binh-minh
    name: Trần Văn Minh
    roles: [{role: officer, unit: an-binh-ca}]
"""


def ward_file(tmp_path: Path, text: str, name: str = "ward.yaml") -> WardFile:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_ward_file(path)


async def run_import(uow_factory, ward: WardFile, now: datetime = NOW) -> ImportSummary:
    async with uow_factory() as uow:
        summary = await import_ward(uow, ward, now)
        await uow.commit()
    return summary


async def units(uow_factory) -> dict[str, tuple]:
    """code -> (name, kind, parent code, function, sort order, settings)."""
    async with uow_factory() as uow:  # read before the unit of work ends: it rolls back and expires rows
        rows = list(await uow.session.scalars(select(UnitRow)))
        codes = {row.id: row.code for row in rows}
        return {row.code: (row.name, row.kind, codes.get(row.parent_id), row.function, row.sort_order, row.settings)
                for row in rows}


async def roles(uow_factory) -> set[tuple[str, str, str, str]]:
    """(person ref, unit code, role, source) of every membership."""
    query = (select(PersonRow.ref, UnitRow.code, MembershipRow.role, MembershipRow.source)
             .join(PersonRow, PersonRow.id == MembershipRow.person_id)
             .join(UnitRow, UnitRow.id == MembershipRow.unit_id))
    async with uow_factory() as uow:
        return {tuple(row) for row in await uow.session.execute(query)}


async def test_the_example_imports_and_a_second_run_changes_nothing(uow_factory):
    ward = read_ward_file(EXAMPLE)
    first = await run_import(uow_factory, ward)
    assert (first.units.created, first.people.created, first.roles.created) == (15, 10, 14)
    assert first.changed

    stored = await units(uow_factory)
    assert stored["hong-ha"] == ("Phường Hồng Hà", "commune", None, None, 0, {"routing": {"other": "hong-ha-vp"}})
    assert stored["hong-ha-tdp-6"] == ("Tổ dân phố số 6", "group", "hong-ha", None, 6, None)
    assert stored["hong-ha-ca"][1:4] == ("department", "hong-ha", "police")
    assert stored["hong-ha-hg-2"][1:3] == ("team", "hong-ha-tdp-2")
    held = await roles(uow_factory)
    assert ("hoang-van-hai", "hong-ha-ca", "head", "import") in held
    assert ("bui-thi-hoa", "hong-ha-hg-2", "mediator", "import") in held  # from the CSV's second row
    assert ("do-thi-mai", "hong-ha", "admin", "import") in held
    async with uow_factory() as uow:
        person = await uow.session.scalar(select(PersonRow).where(PersonRow.ref == "do-thi-mai"))
        assert (person.full_name, person.phone, person.language) == ("Đỗ Thị Mai", "+84 900 000 107", "vi")
        assert (person.created_at, person.consent_at, person.consent_version) == (NOW, None, None)

    again = await run_import(uow_factory, ward, LATER)
    assert not again.changed
    assert again.lines() == ["units: 0 created, 0 updated, 15 unchanged, 0 removed",
                             "people: 0 created, 0 updated, 10 unchanged, 0 removed",
                             "roles: 0 created, 0 updated, 14 unchanged, 0 removed"]
    assert await units(uow_factory) == stored and await roles(uow_factory) == held


async def test_a_renamed_group_and_a_new_phone_update_in_place(uow_factory, tmp_path):
    await run_import(uow_factory, ward_file(tmp_path, SMALL))
    edited = SMALL.replace("name: Thôn 2}", "name: Thôn Đông}").replace('"0900 000 301"', '"0900 000 399"')
    summary = await run_import(uow_factory, ward_file(tmp_path, edited), LATER)
    assert (summary.units.updated, summary.units.unchanged, summary.units.created) == (1, 4, 0)
    assert (summary.people.updated, summary.people.unchanged) == (1, 1)
    stored = await units(uow_factory)
    assert stored["an-binh-thon-2"][:3] == ("Thôn Đông", "group", "an-binh")
    async with uow_factory() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(UnitRow)) == 5
        person = await uow.session.scalar(select(PersonRow).where(PersonRow.ref == "an-binh-lan"))
        assert person.phone == "0900 000 399" and person.created_at == NOW


async def test_decomposed_unicode_matches_what_is_stored(uow_factory, tmp_path):
    await run_import(uow_factory, ward_file(tmp_path, SMALL))
    summary = await run_import(uow_factory, ward_file(tmp_path, unicodedata.normalize("NFD", SMALL)))
    assert not summary.changed


async def test_a_role_left_out_is_removed_but_an_invited_role_is_kept(uow_factory, tmp_path):
    await run_import(uow_factory, ward_file(tmp_path, SMALL))
    async with uow_factory() as uow:
        lan = await uow.session.scalar(select(PersonRow.id).where(PersonRow.ref == "an-binh-lan"))
        thon_2 = await uow.session.scalar(select(UnitRow.id).where(UnitRow.code == "an-binh-thon-2"))
        await uow.staff.add_membership(lan, thon_2, "leader", NOW, source="invite")
        await uow.commit()

    without_mediator = SMALL.replace(", {role: mediator, unit: an-binh-hg-1}", "")
    summary = await run_import(uow_factory, ward_file(tmp_path, without_mediator), LATER)
    assert (summary.roles.removed, summary.roles.unchanged, summary.roles.created) == (1, 2, 0)
    assert await roles(uow_factory) == {
        ("an-binh-lan", "an-binh-thon-1", "leader", "import"),
        ("an-binh-lan", "an-binh-thon-2", "leader", "invite"),
        ("an-binh-minh", "an-binh-ca", "officer", "import"),
    }

    # The file giving the invited role too changes nothing; dropping it again keeps the invite.
    with_invited = without_mediator.replace("roles: [{role: leader, unit: an-binh-thon-1}]",
                                            "roles: [{role: leader, unit: an-binh-thon-1}, "
                                            "{role: leader, unit: an-binh-thon-2}]")
    assert not (await run_import(uow_factory, ward_file(tmp_path, with_invited))).changed
    assert not (await run_import(uow_factory, ward_file(tmp_path, without_mediator))).changed
    assert ("an-binh-lan", "an-binh-thon-2", "leader", "invite") in await roles(uow_factory)


async def test_a_person_left_out_of_the_file_loses_their_imported_roles(uow_factory, tmp_path):
    await run_import(uow_factory, ward_file(tmp_path, SMALL))
    without_minh = SMALL.split("  - ref: an-binh-minh")[0]
    summary = await run_import(uow_factory, ward_file(tmp_path, without_minh))
    assert summary.roles.removed == 1 and summary.people.removed == 0
    assert {ref for ref, *_ in await roles(uow_factory)} == {"an-binh-lan"}
    async with uow_factory() as uow:  # the person stays: cases and chat accounts may point at them
        assert await uow.session.scalar(select(PersonRow.id).where(PersonRow.ref == "an-binh-minh")) is not None


async def test_a_second_ward_leaves_the_first_alone(uow_factory, tmp_path):
    await run_import(uow_factory, read_ward_file(EXAMPLE))
    first_units, first_roles = await units(uow_factory), await roles(uow_factory)

    # The same person (by ref) may hold roles in two wards; each ward's file governs its own.
    second = SMALL + "  - ref: pham-minh-duc\n    name: Phạm Minh Đức\n    phone: 0900 000 104\n" \
                     "    roles: [{role: officer, unit: an-binh-ca}]\n"
    summary = await run_import(uow_factory, ward_file(tmp_path, second))
    assert (summary.units.created, summary.units.updated, summary.roles.removed) == (5, 0, 0)
    assert summary.people.unchanged == 1
    after = await units(uow_factory)
    assert {code: after[code] for code in first_units} == first_units
    assert await roles(uow_factory) - first_roles == {
        ("an-binh-lan", "an-binh-thon-1", "leader", "import"), ("an-binh-lan", "an-binh-hg-1", "mediator", "import"),
        ("an-binh-minh", "an-binh-ca", "officer", "import"), ("pham-minh-duc", "an-binh-ca", "officer", "import"),
    }

    # Re-importing the first ward does not take the person's role in the second away.
    assert not (await run_import(uow_factory, read_ward_file(EXAMPLE))).changed
    assert ("pham-minh-duc", "an-binh-ca", "officer", "import") in await roles(uow_factory)


async def test_a_code_of_another_ward_or_kind_is_refused_and_nothing_written(uow_factory, tmp_path):
    await run_import(uow_factory, read_ward_file(EXAMPLE))
    before_units, before_roles = await units(uow_factory), await roles(uow_factory)
    clash = (SMALL.replace("{code: an-binh-thon-2, name: Thôn 2}", "{code: hong-ha-tdp-1, name: Thôn 2}")
             .replace("{code: an-binh-ca, name: Công an xã, function: police}",
                      "{code: hong-ha-hg-1, name: Công an xã, function: police}")
             .replace("unit: an-binh-ca", "unit: hong-ha-hg-1"))
    async with uow_factory() as uow:
        with pytest.raises(WardImportError) as caught:
            await import_ward(uow, ward_file(tmp_path, clash), NOW)
    assert [str(problem) for problem in caught.value.problems] == [
        f"{tmp_path / 'ward.yaml'}:4: groups[1].code: 'hong-ha-tdp-1' is a unit of another ward in the database",
        (f"{tmp_path / 'ward.yaml'}:6: departments[0].code: 'hong-ha-hg-1' is a team in the database, not a "
         "department; a unit's kind cannot change"),
    ]
    assert await units(uow_factory) == before_units and await roles(uow_factory) == before_roles


async def test_routing_overrides_replace_the_stored_ones_and_keep_other_settings(uow_factory, tmp_path):
    with_routing = SMALL.replace("groups:\n", "routing: {land: an-binh-ca}\ngroups:\n", 1)
    await run_import(uow_factory, ward_file(tmp_path, with_routing))
    assert (await units(uow_factory))["an-binh"][5] == {"routing": {"land": "an-binh-ca"}}
    async with uow_factory() as uow:
        commune = await uow.session.scalar(select(UnitRow).where(UnitRow.code == "an-binh"))
        commune.settings = {**commune.settings, "quiet_hours": "22-06"}
        await uow.commit()

    summary = await run_import(uow_factory, ward_file(tmp_path, SMALL))
    assert summary.units.updated == 1
    assert (await units(uow_factory))["an-binh"][5] == {"quiet_hours": "22-06"}


async def test_a_province_sized_groups_list_imports_in_a_few_queries(uow_factory, engine, tmp_path):
    count = IN_CHUNK + 500  # more than one chunk of codes
    lines = "".join(f"t-{n},Tổ dân phố số {n}\n" for n in range(1, count + 1))
    (tmp_path / "groups.csv").write_text("code,name\n" + lines, encoding="utf-8")
    ward = ward_file(tmp_path, "ward: {code: tinh, name: Phường Lớn}\ngroups_csv: groups.csv\n")
    statements: list[str] = []
    listener = lambda conn, cursor, statement, *args: statements.append(statement)
    event.listen(engine.sync_engine, "before_cursor_execute", listener)
    try:
        assert (await run_import(uow_factory, ward)).units.created == count + 1
        again = await run_import(uow_factory, ward)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listener)
    assert not again.changed and again.units.unchanged == count + 1
    assert len(statements) < 100, len(statements)  # not one per group
