"""Staff case lists over a real database: filters by step, field and residential group, paging
that keeps the filter, the paged group picker, scopes that filters never widen, and forged or
malformed buttons refused and logged."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from handlers.domain.model import NewCase
from storage.demo import POLICE_CODE, WARD_CODE
from storage.tables import CaseRow, UnitRow
from tests.integration.test_conversation import CODE, TRANSLATOR, Harness
from tests.integration.test_staff_conversation import (  # noqa: F401 (fixtures)
    CODE_LEADER3, CODE_OFFICER, become, harness, ward,
)

OFFICER, LEADER = "200", "300"
UNKNOWN = TRANSLATOR("form.button_unknown", "en")


async def add_case(h: Harness, name: str, field: str, group: int, *, urgent: bool = False,
                   values: dict | None = None) -> str:
    """Insert a case straight into storage (the report form is tested elsewhere); its code."""
    async with h.uow_factory() as uow:
        unit = await uow.units.by_code(f"{WARD_CODE}-tdp-{group}")
        h.clock.current += timedelta(minutes=1)
        case = await uow.cases.add(NewCase(
            kind="dispute", field=field, commune_unit_id=unit.parent_id, group_unit_id=unit.id, address=None,
            latitude=None, longitude=None, summary=f"Case {name}", people_count=None, danger_now=False,
            urgent=urgent, urgency_reasons=[], reporter_id=None, contact_phone=None, created_at=h.clock.now(),
            code_year=2026,
        ))
        fresh = await uow.casework.get(case.id)
        if values:
            await uow.casework.apply(fresh, values, h.clock.now())
        await uow.commit()
        return fresh.code


async def group_id(h: Harness, number: int) -> int:
    async with h.uow_factory() as uow:
        return (await uow.units.by_code(f"{WARD_CODE}-tdp-{number}")).id


@pytest.fixture
async def book(ward):
    """A (the ward's report): land, group 3, step 1. B: family, group 1. C: environment, group 3,
    step 2. D: land, group 1, urgent. E: public order, group 3, signs of crime."""
    ward.codes = {
        "A": ward.case_code,
        "B": await add_case(ward, "B", "family", 1),
        "C": await add_case(ward, "C", "environment", 3, values={"step": 2, "status": "verifying"}),
        "D": await add_case(ward, "D", "land", 1, urgent=True),
        "E": await add_case(ward, "E", "public_order", 3, values={"nature": "crime"}),
    }
    return ward


def shown(h: Harness, user: str) -> set[str]:
    """The names (A, B, ...) of the cases listed in the user's last reply."""
    labels = " ".join(c.label for row in h.last(user).buttons for c in row)
    found = set(CODE.findall(labels))
    return {name for name, code in h.codes.items() if code in found} | (found - set(h.codes.values()))


def payloads(h: Harness, user: str) -> list[str]:
    return [c.data for row in h.last(user).buttons for c in row]


async def listing(h: Harness, user: str, data: str) -> set[str]:
    await h.send(user=user, callback=data)
    return shown(h, user)


async def test_each_filter_returns_exactly_its_cases(book):
    g1, g3 = await group_id(book, 1), await group_id(book, 3)
    await become(book, OFFICER, CODE_OFFICER)
    expected = {
        "k:l:s1:0": {"A", "B", "D", "E"}, "k:l:s2:0": {"C"}, "k:l:s3:0": set(),
        "k:l:f-land:0": {"A", "D"}, "k:l:f-family:0": {"B"}, "k:l:f-public_order:0": {"E"},
        "k:l:f-labour:0": set(), f"k:l:g{g3}:0": {"A", "C", "E"}, f"k:l:g{g1}:0": {"B", "D"},
        "k:l:urgent:0": {"D"}, "k:l:new:0": {"A", "B", "D", "E"}, "k:l:all:0": {"A", "B", "C", "D", "E"},
    }
    for data, names in expected.items():
        assert await listing(book, OFFICER, data) == names, data
        assert "k:fm" in payloads(book, OFFICER), data  # every list, even an empty one, leads to the filters


async def test_the_filter_menu_and_titles(book):
    await become(book, OFFICER, CODE_OFFICER)
    await book.press("Filters", OFFICER)
    menu = book.last(OFFICER)
    assert "Step 2: Verify" in menu.text
    data = payloads(book, OFFICER)
    assert [d for d in data if d.startswith("k:l:s")] == [f"k:l:s{n}:0" for n in range(1, 6)]
    assert "k:l:f-land:0" in data and "k:l:f-other:0" in data and "k:fg:0" in data
    await book.press("Step 2", OFFICER)
    assert book.last(OFFICER).text.startswith("Step 2 — Verify: 1–1 of 1")
    await book.press("Filters", OFFICER)
    await book.press("Land", OFFICER)
    assert book.last(OFFICER).text.startswith("Field: Land: 1–2 of 2")
    await book.press("Filters", OFFICER)
    await book.press("By residential group", OFFICER)
    await book.press("Tổ dân phố số 3", OFFICER)
    assert book.last(OFFICER).text.startswith("Tổ dân phố số 3: 1–3 of 3")
    await book.press(book.codes["C"], OFFICER)
    assert f"Case {book.codes['C']}" in book.last(OFFICER).text


async def test_paging_keeps_the_filter_and_the_counts(book):
    labour = {await add_case(book, f"L{i}", "labour", 2 + i % 3) for i in range(11)}
    await become(book, OFFICER, CODE_OFFICER)
    first = await listing(book, OFFICER, "k:l:f-labour:0")
    assert book.last(OFFICER).text.startswith("Field: Labour: 1–8 of 11")
    assert "k:l:f-labour:1" in payloads(book, OFFICER)
    await book.press("Next", OFFICER)
    second = shown(book, OFFICER)
    assert book.last(OFFICER).text.startswith("Field: Labour: 9–11 of 11")
    assert "Next" not in str(book.last(OFFICER).buttons)
    assert len(first) == 8 and len(second) == 3 and first | second == labour
    await book.press("Previous", OFFICER)
    assert book.last(OFFICER).text.startswith("Field: Labour: 1–8 of 11")
    assert shown(book, OFFICER) == first
    # a page past the end (cases closed meanwhile) shows the last page, not "no cases"
    assert await listing(book, OFFICER, "k:l:f-labour:7") == second
    assert book.last(OFFICER).text.startswith("Field: Labour: 9–11 of 11")


async def test_the_group_picker_pages(book):
    async with book.uow_factory() as uow:
        ward_unit = await uow.units.by_code(WARD_CODE)
        for number in range(7, 21):
            uow.session.add(UnitRow(code=f"{WARD_CODE}-tdp-{number}", name=f"Tổ dân phố số {number}",
                                    kind="group", parent_id=ward_unit.id, sort_order=number))
        await uow.commit()
    book.clock.current += timedelta(minutes=5)  # past the ward cache
    await become(book, OFFICER, CODE_OFFICER)
    await book.send(user=OFFICER, callback="k:fg:0")
    assert book.last(OFFICER).text == "Pick a residential group (1–8 of 20):"
    await book.press("Next", OFFICER)
    assert book.last(OFFICER).text == "Pick a residential group (9–16 of 20):"
    await book.press("Next", OFFICER)
    page = book.last(OFFICER)
    assert page.text == "Pick a residential group (17–20 of 20):"
    labels = [c.label for row in page.buttons for c in row]
    assert labels[:4] == [f"Tổ dân phố số {n}" for n in range(17, 21)]
    assert "Next" not in str(labels) and "Previous" in str(labels) and "Back to filters" in str(labels)
    await book.press("Tổ dân phố số 18", OFFICER)
    assert book.last(OFFICER).text == "Tổ dân phố số 18: no cases."
    await book.send(user=OFFICER, callback="k:fg:99")  # past the end: the last page
    assert book.last(OFFICER).text == "Pick a residential group (17–20 of 20):"


async def test_a_leaders_filters_stay_inside_their_group(book, caplog):
    g1 = await group_id(book, 1)
    await become(book, LEADER, CODE_LEADER3)
    assert "k:fm" in payloads(book, LEADER)
    expected = {
        "k:l:all:0": {"A", "C"}, "k:l:s1:0": {"A"}, "k:l:s2:0": {"C"}, "k:l:f-land:0": {"A"},
        "k:l:f-public_order:0": set(), "k:l:urgent:0": set(), "k:l:new:0": {"A"}, "k:l:f-family:0": set(),
    }
    for data, names in expected.items():
        assert await listing(book, LEADER, data) == names, data
    assert await listing(book, LEADER, f"k:l:g{g1}:0") == set()  # a forged button for group 1
    assert book.last(LEADER).text == "Tổ dân phố số 1: no cases."


async def test_crime_cases_never_reach_non_police_under_any_filter(book):
    await become(book, LEADER, CODE_LEADER3)
    await book.send(user=LEADER, callback="k:fm")
    keys = [d for d in payloads(book, LEADER) if d.startswith("k:l:")]
    await book.send(user=LEADER, callback="k:fg:0")
    keys += [d for d in payloads(book, LEADER) if d.startswith("k:l:")]
    assert len(keys) >= 4 + 5 + 8 + 6
    for data in keys:
        assert "E" not in await listing(book, LEADER, data), data
    assert not any(book.codes["E"] in r.text or book.codes["E"] in str(r.buttons) for r in book.replies(LEADER))


async def test_malformed_payloads_are_refused_and_logged(book, caplog):
    async with book.uow_factory() as uow:
        police = (await uow.units.by_code(POLICE_CODE)).id
    await become(book, OFFICER, CODE_OFFICER)
    forged = [
        "k:l:s0:0", "k:l:s6:0", "k:l:s:0", "k:l:s12:0", "k:l:s٣:0", "k:l:f-nope:0", "k:l:f-:0",
        "k:l:f-LAND:0", "k:l:f-land-x:0", "k:l:gx:0", "k:l:g:0", "k:l:g-3:0", "k:l:g99999999999999999999:0",
        "k:l:g999999:0", f"k:l:g{police}:0", "k:l:late:0", "k:l:new:-1", "k:l:new:x", "k:l:new:99999999",
        "k:l:new:1_0", "k:l:new: 1", "k:l:new:+1", "k:l:new:0:0", "k:l:all", "k:fm:1", "k:fg", "k:fg:x",
        "k:fg:-1", "k:fg:100000", "k:fx:0",
    ]
    with caplog.at_level(logging.WARNING, logger="hoagiai.casework"):
        for data in forged:
            await book.send(user=OFFICER, callback=data)
            assert book.last(OFFICER).text == UNKNOWN, data
    refused = [r for r in caplog.records if "refused as malformed" in r.message]
    assert len(refused) == len(forged)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_the_list_order_is_stable_and_the_case_rows_open_the_card(book):
    await become(book, OFFICER, CODE_OFFICER)
    await book.send(user=OFFICER, callback="k:l:f-land:0")
    rows = [c for row in book.last(OFFICER).buttons for c in row if c.data.startswith("k:o:")]
    assert rows[0].label.startswith("🚨 " + book.codes["D"])  # urgent first
    async with book.uow_factory() as uow:
        ids = {code: id_ for code, id_ in await uow.session.execute(select(CaseRow.code, CaseRow.id))}
    assert [c.data for c in rows] == [f"k:o:{ids[book.codes['D']]}", f"k:o:{ids[book.codes['A']]}"]
