"""The ward's roll-up report (storage/reports.py) and `hoagiai report`, on a real database.

The ward `demo-ward` (6 groups) and a second ward `other-ward` (1 group); the reporting month
2026-11 runs 15/10/2026 00:00 to 15/11/2026 00:00 in Ho Chi Minh City time
(UTC [2026-10-14 17:00, 2026-11-14 17:00)). Every case below says how it counts.
"""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.integration.cli_runner import cli_runner
from handlers.domain.periods import report_period
from storage.demo import WARD_CODE, WARD_NAME, load_demo_ward
from storage.reports import ProlongedCase, find_ward, rollup
from storage.tables import CaseEventRow, CaseRow, MonthlyReportRow, UnitRow

ZONE = "Asia/Ho_Chi_Minh"
OTHER_WARD = "other-ward"


def local(month: int, day: int, hour: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=ZoneInfo(ZONE)).astimezone(timezone.utc)


# code, ward, field, nature, created, columns, events (kind, at)
CASES = [
    # received (urgent), open
    ("A1", WARD_CODE, "land", "civil", local(10, 20), {"urgent": True}, []),
    # received at the very start of the window, not classified yet; open 31 days at its end: prolonged
    ("A2", WARD_CODE, "land", None, local(10, 15), {}, []),
    # received, mediated successfully, closed: resolved and stable
    ("A3", WARD_CODE, "family", "administrative", local(10, 25),
     {"status": "closed", "step": 5, "intervention": "mediation", "outcome": "successful", "closed_at": local(11, 8)},
     [("outcome_recorded", local(11, 5)), ("closed", local(11, 8))]),
    # received before: mediation unsuccessful, closed in the window (resolved, stable)
    ("A4", WARD_CODE, "family", "civil", local(9, 10),
     {"status": "closed", "step": 5, "intervention": "mediation", "outcome": "unsuccessful", "closed_at": local(11, 2)},
     [("outcome_recorded", local(10, 30)), ("closed", local(11, 2))]),
    # closed in the window then reopened: resolved, not stable; open 45 days at the end: prolonged
    ("A5", WARD_CODE, "construction", "civil", local(10, 1), {"status": "verifying", "step": 2, "reopen_count": 1},
     [("closed", local(10, 20)), ("reopened", local(11, 1))]),
    # open since 1/9: prolonged (75 days)
    ("A6", WARD_CODE, "environment", "crime", local(9, 1), {"status": "verifying", "step": 2}, []),
    # received, mediated successfully, still monitored
    ("A7", WARD_CODE, "land", "civil", local(10, 20),
     {"status": "monitoring", "step": 5, "intervention": "mediation", "outcome": "successful"},
     [("outcome_recorded", local(11, 10))]),
    # received, mediation withdrawn: not in the rate
    ("A8", WARD_CODE, "family", "civil", local(10, 22),
     {"status": "monitoring", "step": 5, "intervention": "mediation", "outcome": "withdrawn"},
     [("outcome_recorded", local(11, 3))]),
    # created at the window's end and mediated after it: in the next report
    ("A9", WARD_CODE, "public_order", "civil", local(11, 15),
     {"status": "monitoring", "step": 5, "intervention": "mediation", "outcome": "successful"},
     [("outcome_recorded", local(11, 20))]),
    # outcome recorded before the window, closed in it: resolved and stable, not a mediation of the period
    ("A10", WARD_CODE, "land", "civil", local(10, 10),
     {"status": "closed", "step": 5, "intervention": "mediation", "outcome": "successful", "closed_at": local(10, 16)},
     [("outcome_recorded", local(10, 12)), ("closed", local(10, 16))]),
    # received; legal advice is not a mediation
    ("A11", WARD_CODE, "labour", "administrative", local(10, 25),
     {"status": "monitoring", "step": 5, "intervention": "legal_advice", "outcome": "successful"},
     [("outcome_recorded", local(11, 1))]),
    # closed before the window: nothing
    ("A12", WARD_CODE, "land", "civil", local(8, 1), {"status": "closed", "step": 5, "closed_at": local(10, 1)},
     [("closed", local(10, 1))]),
    # closed after the window: open at its end, prolonged (71 days)
    ("A13", WARD_CODE, "other", "civil", local(9, 5), {"status": "closed", "step": 5, "closed_at": local(11, 20)},
     [("closed", local(11, 20))]),
    # the other ward: received, mediation unsuccessful
    ("B1", OTHER_WARD, "land", "civil", local(11, 1),
     {"status": "monitoring", "step": 5, "intervention": "mediation", "outcome": "unsuccessful"},
     [("outcome_recorded", local(11, 4))]),
]

# group number (demo-ward-tdp-N), period, nothing new, risks, late
MONTHLY = [
    (1, "2026-11", True, {}, False),
    (2, "2026-11", False, {"hot_spot": True, "mass_complaint": False, "people": 30, "note": "land boundary"}, True),
    (3, "2026-11", False, {"hot_spot": False, "mass_complaint": True, "people": None, "note": None}, False),
    (4, "2026-11", False, {}, False),
    (5, "2026-11", False, {"hot_spot": False, "mass_complaint": False}, False),
    (6, "2026-10", False, {"hot_spot": True, "people": 5}, False),  # the month before: not in 2026-11
]


@pytest.fixture
async def wards(uow_factory):
    """The two wards, the cases and the monthly updates above; tdp-6 did not report for 2026-11."""
    await load_demo_ward(uow_factory)
    async with uow_factory() as uow:
        session = uow.session
        other = UnitRow(code=OTHER_WARD, name="Xã Khác", kind="commune", sort_order=0)
        session.add(other)
        await session.flush()
        session.add(UnitRow(code=f"{OTHER_WARD}-tdp-1", name="Thôn 1", kind="group", parent_id=other.id, sort_order=1))
        ids = {code: id_ for code, id_ in await session.execute(select(UnitRow.code, UnitRow.id))}
        for code, ward, field, nature, created, columns, events in CASES:
            values = {"status": "new", "step": 1} | columns
            if values.get("outcome"):  # as storage sets it: when the current outcome was recorded
                values["outcome_at"] = max(at for kind, at in events if kind == "outcome_recorded")
            row = CaseRow(code=code, kind="dispute", field=field, nature=nature, summary=code,
                          commune_unit_id=ids[ward], created_at=created, updated_at=created, **values)
            session.add(row)
            await session.flush()
            session.add_all(CaseEventRow(case_id=row.id, kind=kind, data={}, at=at)
                            for kind, at in [("created", created), *events])
        for number, period, nothing_new, risks, late in MONTHLY:
            session.add(MonthlyReportRow(group_unit_id=ids[f"{WARD_CODE}-tdp-{number}"], period=period,
                                         nothing_new=nothing_new, counts={}, risks=risks, late=late,
                                         submitted_at=local(11, 18), updated_at=local(11, 18)))
        await uow.commit()
    return uow_factory


async def compute(uow_factory, code: str = "2026-11", ward: str | None = WARD_CODE, days: int = 30):
    async with uow_factory() as uow:
        found = await find_ward(uow.session, ward) if ward else None
        return await rollup(uow.session, report_period(code, ZONE), found, days)


def group_names(numbers) -> list[str]:
    return [f"Tổ dân phố số {n}" for n in numbers]


async def test_every_figure_of_a_ward_month(wards):
    r = await compute(wards)

    assert (r.period, r.months, r.ward.code, r.ward.name) == ("2026-11", ("2026-11",), WARD_CODE, WARD_NAME)
    assert (r.received, r.urgent) == (6, 1)
    assert r.by_field == {"land": 3, "family": 2, "labour": 1}
    assert r.by_nature == {"civil": 3, "administrative": 2, "unclassified": 1}
    assert (r.resolved, r.stable) == (4, 3)
    assert (r.successful, r.unsuccessful, r.withdrawn, r.mediated) == (2, 1, 1, 3)
    assert (r.success_rate, r.below_target) == (66.7, True)
    assert (r.prolonged_days, r.prolonged) == (30, 4)
    assert r.prolonged_cases == (ProlongedCase("A6", "environment", 2, 75), ProlongedCase("A13", "other", 5, 71),
                                 ProlongedCase("A5", "construction", 2, 45), ProlongedCase("A2", "land", 1, 31))
    assert [(g.code, g.reported, g.nothing_new, g.late, g.missing) for g in r.groups] == [
        (f"{WARD_CODE}-tdp-{n}", () if n == 6 else ("2026-11",), ("2026-11",) if n == 1 else (),
         ("2026-11",) if n == 2 else (), ("2026-11",) if n == 6 else ()) for n in range(1, 7)]
    assert [g.name for g in r.missing("2026-11")] == group_names([6])
    assert [(k.month, k.kind, k.group_code, k.group_name, k.people, k.note) for k in r.risks] == [
        ("2026-11", "hot_spot", f"{WARD_CODE}-tdp-2", "Tổ dân phố số 2", 30, "land boundary"),
        ("2026-11", "mass_complaint", f"{WARD_CODE}-tdp-3", "Tổ dân phố số 3", None, None)]
    assert len(r.risks_of("hot_spot")) == 1 and len(r.risks_of("mass_complaint")) == 1


async def test_every_ward_a_quarter_and_the_prolonged_threshold(wards):
    r = await compute(wards, ward=None, days=50)
    assert r.ward is None
    assert (r.received, r.by_field["land"], r.by_nature["civil"]) == (7, 4, 4)
    assert (r.successful, r.unsuccessful, r.success_rate) == (2, 2, 50.0)
    assert [case.code for case in r.prolonged_cases] == ["A6", "A13"]
    assert [g.code for g in r.missing("2026-11")] == [f"{WARD_CODE}-tdp-6", f"{OTHER_WARD}-tdp-1"]

    quarter = await compute(wards, "2026-Q4")  # 15/09-14/12/2026
    assert quarter.months == ("2026-10", "2026-11", "2026-12")
    assert quarter.received == 9  # A1-A3, A5, A7-A11
    assert quarter.resolved == 6  # A3, A4, A5, A10, A12, A13
    assert quarter.successful == 4  # A3, A7, A9, A10
    assert quarter.prolonged == 7  # open on 15/12 and created before 15/11: A1, A2, A5-A8, A11
    assert [risk.month for risk in quarter.risks] == ["2026-10", "2026-11", "2026-11"]
    assert [g.code for g in quarter.missing("2026-12")] == [f"{WARD_CODE}-tdp-{n}" for n in range(1, 7)]


@pytest.fixture
def report(database_url, monkeypatch, tmp_path, capsys):
    """`hoagiai report ARGS` in this process on the test's database: (exit code, stdout, stderr)."""
    return cli_runner("report", database_url, monkeypatch, tmp_path, capsys)


async def test_the_text_report_an_officer_reads(wards, report):
    code, out, err = await report("--period", "2026-11", "--ward", WARD_CODE, "--lang", "en")
    assert code == 0, err
    assert out.splitlines() == [
        "Roll-up report 2026-11 (15/10/2026 to 14/11/2026)",
        f"Ward: {WARD_NAME} ({WARD_CODE})",
        "",
        "Received: 6 cases (1 urgent)",
        "By field: Land 3, Marriage & family 2, Labour 1",
        "By nature: civil 3, administrative 2, not classified yet 1",
        "Resolved: 4 closed, 3 stable (not reopened)",
        "Mediation: 3 with a result, 2 successful, 1 unsuccessful; 1 withdrawn",
        "Mediation success rate: 66.7% (below target; target 90–95%)",
        "Prolonged (open over 30 days at the end of the period): 4",
        "  A6: Environment, step 2, 75 days",
        "  A13: Other, step 5, 71 days",
        "  A5: Construction order, step 2, 45 days",
        "  A2: Land, step 1, 31 days",
        "Hot-spot risks: 1",
        "  2026-11 · Tổ dân phố số 2 · 30 people · land boundary",
        "Mass-complaint risks: 1",
        "  2026-11 · Tổ dân phố số 3 · — people · —",
        "Groups that did not report for 2026-11: Tổ dân phố số 6",
    ]
    code, out, err = await report("--period", "2026-H1")  # Vietnamese by default, with the plan's deadline
    assert code == 0, err
    assert out.splitlines()[:3] == ["Báo cáo tổng hợp kỳ 2026-H1 (từ 15/12/2025 đến 14/06/2026)",
                                    "Tất cả xã/phường", "Hạn nộp báo cáo: trước ngày 10/06/2026"]


async def test_the_csv_file(wards, report, tmp_path):
    code, out, err = await report("--period", "2026-11", "--ward", WARD_CODE, "--lang", "en", "--format", "csv")
    assert code == 0, err
    assert out.strip() == "Report written: report-2026-11.csv"
    with (tmp_path / "report-2026-11.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[:3] == [["Summary", "Item", "Value"], ["Summary", "Period", "2026-11"], ["Summary", "From", "15/10/2026"]]
    assert ["Summary", "Mediation success rate (%)", "66.7"] in rows
    assert ["Summary", "Against the target 90–95%", "below target"] in rows
    assert ["By field", "Land", "3"] in rows and ["By field", "not classified yet", "1"] in rows
    assert ["Groups", f"{WARD_CODE}-tdp-6", "Tổ dân phố số 6", "", "", "", "2026-11"] in rows
    assert ["Groups", "2026-11", "Tổ dân phố số 2", "Hot spot", "30", "land boundary"] in rows


async def test_the_xlsx_file_cell_by_cell(wards, report, tmp_path):
    target = tmp_path / "out" / "q.xlsx"
    target.parent.mkdir()
    code, out, err = await report("--period", "2026-11", "--ward", WARD_CODE, "--lang", "en", "--format", "xlsx",
                                  "--output", str(target))
    assert code == 0, err
    assert out.strip() == f"Report written: {target}"
    book = load_workbook(target)
    assert book.sheetnames == ["Summary", "By field", "Groups"]
    summary = [[cell.value for cell in row] for row in book["Summary"].iter_rows()]
    assert summary == [
        ["Item", "Value"], ["Period", "2026-11"], ["From", "15/10/2026"], ["To", "14/11/2026"], ["Ward", WARD_NAME],
        ["Cases received", 6], ["Of which urgent", 1], ["Cases resolved (closed)", 4],
        ["Resolved and stable (not reopened)", 3], ["Mediations with a result", 3], ["Successful mediations", 2],
        ["Unsuccessful mediations", 1], ["Mediations withdrawn", 1], ["Mediation success rate (%)", 66.7],
        ["Against the target 90–95%", "below target"], ["Prolonged cases (over 30 days)", 4],
        ["Hot-spot risks", 1], ["Mass-complaint risks", 1], ["Residential groups", 6],
        ["Monthly updates not received", 1]]
    fields = [[cell.value for cell in row] for row in book["By field"].iter_rows()]
    assert fields == [
        ["Field", "Cases"], ["Land", 3], ["Marriage & family", 2], ["Environment", 0], ["Construction order", 0],
        ["Neighbours & public order", 0], ["Civil & debts", 0], ["Labour", 1], ["Other", 0], [None, None],
        ["Nature", "Cases"], ["civil", 3], ["administrative", 2], ["signs of crime", 0], ["not classified yet", 1]]
    groups = [[cell.value for cell in row] for row in book["Groups"].iter_rows()]
    assert groups[0] == ["Code", "Group", "Reported", "Nothing new", "Late", "Not reported"]
    assert groups[1] == [f"{WARD_CODE}-tdp-1", "Tổ dân phố số 1", "2026-11", "2026-11", None, None]
    assert groups[2] == [f"{WARD_CODE}-tdp-2", "Tổ dân phố số 2", "2026-11", None, "2026-11", None]
    assert groups[6] == [f"{WARD_CODE}-tdp-6", "Tổ dân phố số 6", None, None, None, "2026-11"]
    assert groups[7] == [None] * 6
    assert groups[8][:5] == ["Month", "Group", "Risk", "People", "Note"]
    assert [row[:5] for row in groups[9:]] == [["2026-11", "Tổ dân phố số 2", "Hot spot", 30, "land boundary"],
                                              ["2026-11", "Tổ dân phố số 3", "Mass complaint", None, None]]
    assert book["Summary"]["A1"].font.bold


@pytest.mark.parametrize("args, message", [
    (("--period", "2026-Q5"), "YYYY-MM, YYYY-Qn, YYYY-Hn or YYYY"),
    (("--period", "2026-11", "--ward", "nowhere"), "no ward (commune unit) has the code 'nowhere'"),
    (("--period", "2026-11", "--prolonged-days", "0"), "--prolonged-days must be 1 or more"),
])
async def test_a_bad_input_exits_2_with_one_clear_line(wards, report, args, message):
    code, out, err = await report(*args)
    assert (code, out) == (2, "")
    assert message in err.splitlines()[-1]


async def test_an_unmigrated_database_is_refused(report):
    code, out, err = await report("--period", "2026")
    assert (code, out) == (2, "")
    assert "hoagiai db upgrade" in err
