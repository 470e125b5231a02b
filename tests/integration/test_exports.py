"""The exports (storage/exports.py, handlers/export_output.py, `hoagiai export`) on a real database.

Cases are made by the real code: the case repository adds them, each move is the workflow's own
Change applied by the case-work repository (which sets `outcome_at`) with its event, as the chat
actions do (handlers/case_actions.py), at the times given. The demo ward, its team of group 3
("T3", three mediators), and a second ward. The reporting month 2026-11 runs 15/10/2026 to
14/11/2026 in Ho Chi Minh City time. Every case says where it belongs.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from tests.integration.cli_runner import cli_runner
from handlers.domain import workflow as wf
from handlers.domain.exports import IN_PROGRESS, local_window
from handlers.domain.model import Case, NewCase
from handlers.domain.periods import report_period
from storage.demo import WARD_CODE, WARD_NAME, department_code, load_demo_ward
from storage.exports import case_lines, find_team, logbook
from storage.tables import CaseRow, MembershipRow, PersonRow, UnitRow

ZONE = "Asia/Ho_Chi_Minh"
TEAM3, TEAM1 = f"{WARD_CODE}-tdp-3-hg", f"{WARD_CODE}-tdp-1-hg"
OTHER_WARD = "other-ward"
MEDIATORS = ("Trần Thị Hòa", "Phạm Văn Giải", "Võ Thị Thành")  # T3's members
# What must never appear in any export: phones (the reporter's, the parties'), the reporter's
# account (its display name and chat id), the confidential reporter's name.
SECRETS = ("0909 111 222", "0909111222", "0912 345 678", "0987.654.321", "0911222333", "Lê Thị Báo Tin",
           "555000111", "Hoàng Văn Tố")
RECORD = {"parties": "Ông Nguyễn Văn An và ông Trần Văn Bình, tổ 3",
          "facts": "Tường rào nhà ông Bình xây lấn 40 cm sang đất nhà ông An.",
          "agreement": "Ông Bình tháo dỡ phần tường lấn trong 30 ngày.",
          "execution": "Tổ hòa giải kiểm tra ngày 25/11/2026."}


def local(month: int, day: int, hour: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=ZoneInfo(ZONE)).astimezone(timezone.utc)


async def act(uow, case: Case, change: wf.Change, at: datetime) -> Case:
    """A workflow move as the services write it: the values under optimistic locking, the event."""
    updated = await uow.casework.apply(case, change.values, at) if change.values else case
    await uow.cases.add_event(case.id, actor_id=None, kind=change.event, data=change.data, at=at)
    await uow.session.flush()
    return updated


async def new_case(uow, ids, *, group: str, field: str, summary: str, created: datetime, reporter: int | None,
                   phone: str | None, ward: str = WARD_CODE) -> Case:
    case = await uow.cases.add(NewCase(
        kind="dispute", field=field, commune_unit_id=ids[ward], group_unit_id=ids[group], address="Ngõ 3",
        latitude=None, longitude=None, summary=summary, people_count=2, danger_now=False, urgent=False,
        urgency_reasons=[], reporter_id=reporter, contact_phone=phone, created_at=created, code_year=2026,
        channel="telegram", lead_unit_id=ids[department_code("economic")] if field == "land" else None))
    await uow.cases.add_event(case.id, actor_id=None, kind="created", data={}, at=created)
    return case


async def verify(uow, case: Case, parties, at: datetime) -> Case:
    """Steps 1-2: classified, the parties heard (their contacts stored), a note, verified."""
    case = await act(uow, case, wf.classify(case, field_=case.field, nature="civil", complexity="simple",
                                            urgent=False, people_count=2), at)
    for name, role, contact in parties:
        await uow.casework.add_party(case.id, name=name, role=role, contact=contact, by=None, at=at)
        case = await act(uow, case, wf.add_party(case, name=name, role=role, contact=contact), at)
    case = await act(uow, case, wf.add_note(case, "Đã nghe các bên trình bày."), at)
    return await act(uow, case, wf.complete_verification(case, await uow.casework.facts(case.id)), at)


async def mediate(uow, case: Case, team_id: int, parties, *, received: datetime, session=None, outcome=None,
                  record=None, commitment=None, closed=None) -> Case:
    """Verified, mediation chosen, assigned to the team at `received`; then a session
    (held_on, place, mediators, note), an outcome (code, at), a commitment (text, check_on), a close."""
    case = await verify(uow, case, parties, case.created_at + timedelta(hours=1))
    case = await act(uow, case, wf.choose_intervention(case, wf.MEDIATION), received - timedelta(hours=1))
    case = await act(uow, case, wf.assign(case, unit_id=team_id), received)
    if session:
        held_on, place, mediators, note = session
        await uow.casework.add_session(case.id, held_on=held_on, place=place, mediators=mediators, note=note,
                                       by=None, at=received)
        case = await act(uow, case, wf.record_session(case), received + timedelta(hours=1))
    if outcome:
        code, at = outcome
        case = await act(uow, case, wf.record_outcome(case, code, await uow.casework.facts(case.id), record), at)
    if commitment:
        text, check_on = commitment
        await uow.casework.add_commitment(case.id, text=text, check_on=check_on, by=None, at=closed)
        case = await act(uow, case, wf.add_commitment(case, text), closed)
    if closed:
        case = await act(uow, case, wf.close(case, await uow.casework.facts(case.id), closed), closed)
    return case


async def add_units_and_people(uow) -> tuple[dict[str, int], int]:
    """The other ward with a group and a team; T3's mediators; the reporter (a chat account)."""
    session = uow.session
    other = UnitRow(code=OTHER_WARD, name="Xã Khác", kind="commune", sort_order=0)
    session.add(other)
    await session.flush()
    session.add(UnitRow(code=f"{OTHER_WARD}-tdp-1", name="Thôn 1", kind="group", parent_id=other.id, sort_order=1))
    await session.flush()
    ids = {unit.code: unit.id for unit in (await session.execute(UnitRow.__table__.select())).all()}
    for name in MEDIATORS:
        person = PersonRow(language="vi", created_at=local(1, 1), full_name=name, phone="0900 000 001")
        session.add(person)
        await session.flush()
        session.add(MembershipRow(person_id=person.id, unit_id=ids[TEAM3], role="mediator", created_at=local(1, 1),
                                  source="import"))
    reporter = await uow.people.create(platform="telegram", external_id="555000111", display_name="Lê Thị Báo Tin",
                                       language="vi", consent_version="1", now=local(1, 1))
    return ids, reporter.id


@pytest.fixture
async def records(uow_factory):
    """The cases, by name: their codes."""
    await load_demo_ward(uow_factory)
    codes: dict[str, str] = {}
    async with uow_factory() as uow:
        ids, reporter = await add_units_and_people(uow)
        group3, group1 = f"{WARD_CODE}-tdp-3", f"{WARD_CODE}-tdp-1"
        neighbours = [("Nguyễn Văn An", "applicant", "0912 345 678"), ("Trần Văn Bình", "respondent", "0987.654.321")]
        debt = [("Lý Thị Dung", "applicant", None), ("Ngô Văn Cường", "respondent", None)]

        # Received by T3 before the period, withdrawn in it: in the 2026-11 logbook (concluded in it).
        case = await new_case(uow, ids, group=group3, field="public_order", summary="Hát karaoke quá khuya.",
                              created=local(10, 5), reporter=reporter, phone="0909 111 222")
        codes["carried"] = (await mediate(uow, case, ids[TEAM3], debt[:1] + [("Bùi Văn Ồn", "respondent", None)],
                                          received=local(10, 6, 9), outcome=(wf.WITHDRAWN, local(10, 16, 9)))).code
        # Successful, with its record, a commitment, closed.
        case = await new_case(uow, ids, group=group3, field="land", created=local(10, 20), reporter=reporter,
                              phone="0909 111 222", summary="Nhà bên xây tường lấn đất, gọi tôi 0909 111 222.")
        codes["successful"] = (await mediate(
            uow, case, ids[TEAM3], neighbours, received=local(10, 21, 9),
            session=(date(2026, 10, 24), "Nhà văn hóa TDP 3", "Trần Thị Hòa, Phạm Văn Giải", None),
            outcome=(wf.SUCCESSFUL, local(10, 25, 10)), record=RECORD,
            commitment=("Ông Bình dỡ phần tường lấn", date(2026, 11, 25)), closed=local(11, 1, 8))).code
        # Unsuccessful: each party's demands are in the session's note (a phone typed into it).
        case = await new_case(uow, ids, group=group3, field="civil", summary="Tranh chấp tiền vay.",
                              created=local(11, 1), reporter=None, phone=None)
        codes["unsuccessful"] = (await mediate(
            uow, case, ids[TEAM3], debt, received=local(11, 2, 9),
            session=(date(2026, 11, 5), "Nhà ông Cường", "Trần Thị Hòa",
                     "Bà Dung đòi 5 triệu đồng (sđt 0911222333); ông Cường chỉ nhận nợ 2 triệu đồng."),
            outcome=(wf.UNSUCCESSFUL, local(11, 6, 15)))).code
        # Withdrawn in the period.
        case = await new_case(uow, ids, group=group3, field="family", summary="Mâu thuẫn mẹ chồng nàng dâu.",
                              created=local(11, 3), reporter=None, phone=None)
        codes["withdrawn"] = (await mediate(uow, case, ids[TEAM3], debt, received=local(11, 4, 9),
                                            outcome=(wf.WITHDRAWN, local(11, 7, 10)))).code
        # In progress, no session yet: the team's members stand as its mediators.
        case = await new_case(uow, ids, group=group3, field="environment", summary="Nuôi lợn gây mùi.",
                              created=local(11, 10), reporter=None, phone=None)
        codes["in_progress"] = (await mediate(uow, case, ids[TEAM3], debt, received=local(11, 11, 9))).code
        # Another team's mediation in the period: not in T3's logbook.
        case = await new_case(uow, ids, group=group1, field="land", summary="Lối đi chung.", created=local(10, 22),
                              reporter=None, phone=None)
        codes["other_team"] = (await mediate(uow, case, ids[TEAM1], debt, received=local(10, 23, 9),
                                             outcome=(wf.WITHDRAWN, local(10, 28, 9)))).code
        # T3's, received and concluded in September: outside 2026-11 and 2026-Q4, in the year 2026.
        case = await new_case(uow, ids, group=group3, field="labour", summary="Nợ tiền công.", created=local(9, 1),
                              reporter=None, phone=None)
        codes["outside"] = (await mediate(uow, case, ids[TEAM3], debt, received=local(9, 2, 9),
                                          outcome=(wf.WITHDRAWN, local(9, 10, 9)))).code
        # Confidential: the reporter named themself in the summary and is the applicant.
        case = await new_case(uow, ids, group=group3, field="public_order", created=local(11, 8), reporter=reporter,
                              phone="0909 111 222", summary="Tôi là Hoàng Văn Tố, gọi 0911222333: ông Bị đánh bạc.")
        case = await verify(uow, case, [("Hoàng Văn Tố", "applicant", "0911222333"),
                                        ("Đỗ Văn Bị", "respondent", None)], local(11, 8, 9))
        await uow.session.execute(update(CaseRow).where(CaseRow.id == case.id).values(confidential=True))
        codes["confidential"] = case.code
        # The other ward's case, just received.
        codes["other_ward"] = (await new_case(uow, ids, group=f"{OTHER_WARD}-tdp-1", field="land", ward=OTHER_WARD,
                                              summary="Ranh giới đất.", created=local(11, 2), reporter=None,
                                              phone=None)).code
        await uow.commit()
    return codes


async def team_logbook(uow_factory, code: str = "2026-11", team: str = TEAM3):
    async with uow_factory() as uow:
        return await logbook(uow.session, await find_team(uow.session, team), report_period(code, ZONE), ZONE)


# --- the logbook's data -----------------------------------------------------------------------

async def test_the_logbook_holds_the_teams_mediations_received_or_concluded_in_the_period(uow_factory, records):
    book = await team_logbook(uow_factory)
    assert (book.team.code, book.team.name, book.team.group_name, book.team.ward_name) == (
        TEAM3, "Tổ hòa giải TDP số 3", "Tổ dân phố số 3", WARD_NAME)
    assert (book.period, book.first, book.last, book.members) == ("2026-11", date(2026, 10, 15), date(2026, 11, 14),
                                                                   MEDIATORS)
    assert [(entry.code, entry.received_on, entry.result) for entry in book.entries] == [
        (records["carried"], date(2026, 10, 6), wf.WITHDRAWN),
        (records["successful"], date(2026, 10, 21), wf.SUCCESSFUL),
        (records["unsuccessful"], date(2026, 11, 2), wf.UNSUCCESSFUL),
        (records["withdrawn"], date(2026, 11, 4), wf.WITHDRAWN),
        (records["in_progress"], date(2026, 11, 11), IN_PROGRESS)]
    successful = book.entries[1]
    assert successful.record == RECORD and successful.outcome_on == date(2026, 10, 25)
    assert successful.closed_on == date(2026, 11, 1)
    assert [(p.name, p.role) for p in successful.parties] == [("Nguyễn Văn An", "applicant"),
                                                              ("Trần Văn Bình", "respondent")]

    year = await team_logbook(uow_factory, "2026")
    assert [entry.code for entry in year.entries][0] == records["outside"] and len(year.entries) == 6
    other = await team_logbook(uow_factory, "2026-Q4", TEAM1)
    assert [entry.code for entry in other.entries] == [records["other_team"]] and other.members == ()


# --- the CLI ----------------------------------------------------------------------------------

@pytest.fixture
def export(database_url, monkeypatch, tmp_path, capsys):
    """`hoagiai export ARGS` in this process on the test's database: (exit code, stdout, stderr)."""
    return cli_runner("export", database_url, monkeypatch, tmp_path, capsys)


def xlsx_text(path) -> str:
    """Every XML part of the workbook, unzipped: what a search of the file would find."""
    with zipfile.ZipFile(path) as archive:
        return "".join(archive.read(name).decode("utf-8") for name in archive.namelist())


def files(folder) -> list[str]:
    """What an export left in the folder (the SQLite database's folder aside)."""
    return sorted(path.name for path in folder.iterdir() if path.name != "data")


def assert_nothing_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


async def test_the_logbook_xlsx_cell_by_cell(records, export, tmp_path):
    code, out, err = await export("logbook", "--team", TEAM3, "--period", "2026-11")
    assert code == 0, err
    path = tmp_path / f"logbook-{TEAM3}-2026-11.xlsx"
    assert out.strip() == f"Đã xuất 5 dòng vào tệp {path.name}"
    sheet = load_workbook(path).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert sheet.title == "Sổ hòa giải"
    assert rows[0][0] == "SỔ THEO DÕI HOẠT ĐỘNG HÒA GIẢI Ở CƠ SỞ"
    assert rows[1][0] == f"Tổ hòa giải: Tổ hòa giải TDP số 3 · Thôn/tổ dân phố: Tổ dân phố số 3 · Xã/phường: {WARD_NAME}"
    assert rows[2][0] == "Kỳ 2026-11: từ ngày 15/10/2026 đến ngày 14/11/2026"
    assert rows[3] == [None] * 10
    assert rows[4] == ["STT", "Ngày, tháng, năm nhận vụ, việc hòa giải",
                       "Họ và tên hòa giải viên, người được mời tham gia hòa giải (nếu có)",
                       "Họ tên, tuổi, địa chỉ các bên, người có quyền, nghĩa vụ liên quan đến vụ, việc hòa giải (nếu có)",
                       "Nội dung chủ yếu của vụ, việc",
                       "Thỏa thuận của các bên (hoặc yêu cầu của mỗi bên) sau khi hòa giải", "Kết quả hòa giải", None,
                       "Chữ ký (hòa giải viên; người chứng kiến vụ, việc hòa giải; người được mời tham gia hòa giải "
                       "(nếu có))", "Ghi chú"]
    assert rows[5] == [None] * 6 + ["Hòa giải thành", "Hòa giải không thành", None, None]
    assert rows[6] == [f"({n})" for n in range(1, 11)]
    assert "G5:H5" in {str(merged) for merged in sheet.merged_cells.ranges}
    assert rows[8] == [
        2, datetime(2026, 10, 21), "Trần Thị Hòa, Phạm Văn Giải",
        "Nguyễn Văn An (Bên yêu cầu); Trần Văn Bình (Bên bị yêu cầu)", RECORD["facts"],
        "Ông Bình tháo dỡ phần tường lấn trong 30 ngày.\n"
        "Phương thức, thời hạn thực hiện: Tổ hòa giải kiểm tra ngày 25/11/2026.",
        "x", None, None,
        f"Mã vụ việc: {records['successful']}\nHòa giải thành ngày 25/10/2026\n"
        "Buổi hòa giải ngày 24/10/2026 tại Nhà văn hóa TDP 3\n"
        "Cam kết: Ông Bình dỡ phần tường lấn (kiểm tra ngày 25/11/2026)\nKết thúc ngày 01/11/2026"]
    assert rows[9] == [
        3, datetime(2026, 11, 2), "Trần Thị Hòa", "Lý Thị Dung (Bên yêu cầu); Ngô Văn Cường (Bên bị yêu cầu)",
        "Tranh chấp tiền vay.",
        "05/11/2026: Bà Dung đòi 5 triệu đồng (sđt [số điện thoại]); ông Cường chỉ nhận nợ 2 triệu đồng.",
        None, "x", None,
        f"Mã vụ việc: {records['unsuccessful']}\nHòa giải không thành ngày 06/11/2026\n"
        "Buổi hòa giải ngày 05/11/2026 tại Nhà ông Cường"]
    assert rows[10][:2] == [4, datetime(2026, 11, 4)] and rows[10][6:9] == [None, None, None]
    assert rows[10][9] == f"Mã vụ việc: {records['withdrawn']}\nRút yêu cầu ngày 07/11/2026"
    assert rows[11] == [5, datetime(2026, 11, 11), ", ".join(MEDIATORS),
                        "Lý Thị Dung (Bên yêu cầu); Ngô Văn Cường (Bên bị yêu cầu)", "Nuôi lợn gây mùi.", None,
                        None, None, None, f"Mã vụ việc: {records['in_progress']}\nĐang hòa giải"]
    assert rows[7][0] == 1 and rows[7][3] == "Lý Thị Dung (Bên yêu cầu); Bùi Văn Ồn (Bên bị yêu cầu)"
    assert len(rows) == 12
    header, data = sheet["A5"], sheet["E9"]
    assert header.font.bold and header.alignment.wrap_text and data.alignment.wrap_text
    assert sheet["A1"].font.bold and sheet["A1"].font.size == 14
    assert sheet.column_dimensions["E"].width == 40 and sheet.freeze_panes == "A8"
    assert sheet["B9"].number_format == "DD/MM/YYYY"
    assert_nothing_secret(xlsx_text(path))


async def test_the_logbook_in_english_and_as_csv(records, export, tmp_path):
    code, out, err = await export("logbook", "--team", TEAM3, "--period", "2026-11", "--lang", "en",
                                  "--format", "csv", "--output", str(tmp_path / "book.csv"))
    assert code == 0, err
    assert out.strip() == f"Exported 5 rows to {tmp_path / 'book.csv'}"
    data = (tmp_path / "book.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["No.", "Date the case was received", "Mediators, and people invited to take part (if any)",
                       "Parties, and people with related rights and obligations (if any)", "Main content of the case",
                       "The parties' agreement (or each party's demands) after mediation",
                       "Result of the mediation: Successful", "Result of the mediation: Unsuccessful",
                       "Signatures (mediators; witnesses; people invited to take part, if any)", "Notes"]
    assert rows[2][:4] == ["2", "21/10/2026", "Trần Thị Hòa, Phạm Văn Giải",
                           "Nguyễn Văn An (Applicant); Trần Văn Bình (Respondent)"]
    assert rows[2][5].endswith("How and when it is carried out: Tổ hòa giải kiểm tra ngày 25/11/2026.")
    assert rows[2][6:9] == ["x", "", ""] and rows[3][6:8] == ["", "x"]
    assert rows[4][9] == f"Case: {records['withdrawn']}\nWithdrawn on 07/11/2026"
    assert rows[5][9] == f"Case: {records['in_progress']}\nMediation in progress"
    assert len(rows) == 6
    assert_nothing_secret(data.decode("utf-8"))


async def test_an_empty_logbook_says_so(records, export, tmp_path):
    code, out, err = await export("logbook", "--team", f"{WARD_CODE}-tdp-6-hg", "--period", "2026-Q4")
    assert code == 0, err
    sheet = load_workbook(tmp_path / f"logbook-{WARD_CODE}-tdp-6-hg-2026-Q4.xlsx").active
    assert sheet["A8"].value == "Không có vụ, việc hòa giải trong kỳ"
    assert sheet["A2"].value.startswith("Tổ hòa giải: Tổ hòa giải TDP số 6 ·")


CASE_HEADER = ["Mã vụ việc", "Ngày tiếp nhận", "Xã/phường", "Tổ dân phố/thôn", "Lĩnh vực", "Tính chất",
               "Mức độ phức tạp", "Tóm tắt nội dung", "Các bên liên quan (họ tên, tư cách)", "Phương án giải quyết",
               "Bước", "Trạng thái", "Kết quả", "Ngày có kết quả", "Ngày kết thúc", "Đơn vị chủ trì",
               "Bảo mật người báo tin"]


def read_csv(path) -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert_nothing_secret(data.decode("utf-8"))
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


async def test_the_cases_csv_for_the_national_software(records, export, tmp_path):
    code, out, err = await export("cases")
    assert code == 0, err
    assert out.strip() == "Đã xuất 9 dòng vào tệp cases-all.csv"
    rows = read_csv(tmp_path / "cases-all.csv")
    assert rows[0] == CASE_HEADER
    by_code = {row[0]: row for row in rows[1:]}
    assert len(by_code) == 9 and [row[0] for row in rows[1:]] == sorted(by_code)  # by id, i.e. as received
    assert by_code[records["successful"]] == [
        records["successful"], "20/10/2026", WARD_NAME, "Tổ dân phố số 3", "Đất đai", "dân sự", "đơn giản",
        "Nhà bên xây tường lấn đất, gọi tôi [số điện thoại].",
        "Nguyễn Văn An (Bên yêu cầu); Trần Văn Bình (Bên bị yêu cầu)", "Hòa giải ở cơ sở", "5", "đã kết thúc",
        "Hòa giải thành", "25/10/2026", "01/11/2026", "Phòng Kinh tế, Hạ tầng và Đô thị", "Không"]
    assert by_code[records["in_progress"]][9:16] == ["Hòa giải ở cơ sở", "4", "đang giải quyết", "", "", "", ""]
    assert by_code[records["confidential"]] == [
        records["confidential"], "08/11/2026", WARD_NAME, "Tổ dân phố số 3", "Hàng xóm, trật tự công cộng", "dân sự",
        "đơn giản", "(bảo mật)", "(bảo mật) (Bên yêu cầu); Đỗ Văn Bị (Bên bị yêu cầu)", "", "3",
        "đang chọn phương án", "", "", "", "", "Có"]
    assert by_code[records["other_ward"]][2:8] == ["Xã Khác", "Thôn 1", "Đất đai", "chưa phân loại", "", "Ranh giới đất."]


async def test_the_cases_of_one_ward_and_days_in_english(records, export, tmp_path):
    code, out, err = await export("cases", "--ward", WARD_CODE, "--from", "2026-11-01", "--to", "2026-11-10",
                                  "--lang", "en")
    assert code == 0, err
    name = f"cases-{WARD_CODE}-2026-11-01-2026-11-10.csv"
    assert out.strip() == f"Exported 4 rows to {name}"
    rows = read_csv(tmp_path / name)
    assert rows[0][:3] == ["Case code", "Date received", "Ward/commune"]
    assert [row[0] for row in rows[1:]] == [records[n] for n in ("unsuccessful", "withdrawn", "in_progress",
                                                                 "confidential")]
    assert rows[1][4:7] == ["Civil & debts", "civil", "simple"] and rows[1][12] == "Unsuccessful"
    assert rows[4][7:9] == ["(confidential)", "(confidential) (Applicant); Đỗ Văn Bị (Respondent)"]


async def test_the_cases_stream_in_chunks_with_progress(records, export, tmp_path, monkeypatch):
    monkeypatch.setattr("storage.exports.CHUNK", 2)
    monkeypatch.setattr("bot.export_cli.PROGRESS_EVERY", 4)
    code, out, err = await export("cases", "--output", "all.csv")
    assert code == 0, err
    assert err.splitlines() == ["exported 4 cases...", "exported 8 cases..."]
    assert len(read_csv(tmp_path / "all.csv")) == 10
    assert files(tmp_path) == ["all.csv"]  # no temporary file left


async def test_case_lines_read_each_chunk_apart(records, engine):
    starts, ends = local_window(date(2026, 10, 20), None, ZONE)
    chunks = [[line.code for line in chunk] async for chunk in case_lines(engine, ZONE, None, starts, ends, chunk=3)]
    assert [len(chunk) for chunk in chunks] == [3, 3, 1]
    assert records["carried"] not in sum(chunks, []) and records["outside"] not in sum(chunks, [])


@pytest.mark.parametrize("args, message", [
    (("logbook", "--team", TEAM3, "--period", "2026-Q5"), "a reporting period is written YYYY-MM, YYYY-Qn, YYYY-Hn "
     "or YYYY (like 2026-11, 2026-Q4, 2026-H1, 2026), not '2026-Q5'"),
    (("logbook", "--team", "nowhere", "--period", "2026-11"), "no mediation team (team unit) has the code 'nowhere'"),
    (("logbook", "--team", f"{WARD_CODE}-tdp-3", "--period", "2026-11"),
     f"no mediation team (team unit) has the code '{WARD_CODE}-tdp-3'"),
    (("cases", "--ward", "nowhere"), "no ward (commune unit) has the code 'nowhere'"),
    (("cases", "--from", "2026-13-01"), "--from is a day written YYYY-MM-DD, like 2026-11-01, not '2026-13-01'"),
    (("cases", "--from", "2026-11-10", "--to", "2026-11-01"), "--from 2026-11-10 is after --to 2026-11-01"),
    (("cases", "--output", "missing/cases.csv"), "cannot write missing/cases.csv: no directory missing"),
    (("cases", "--output", "."), "cannot write .: it is a directory"),
    (("logbook", "--team", TEAM3, "--period", "2026", "--output", "file.txt/book.xlsx"),
     "cannot write file.txt/book.xlsx: no directory file.txt"),
])
async def test_a_bad_input_exits_2_with_one_clear_line(records, export, tmp_path, args, message):
    (tmp_path / "file.txt").write_text("not a directory")
    code, out, err = await export(*args)
    assert (code, out) == (2, "")
    assert err.splitlines() == [f"hoagiai: {message}"]
    assert files(tmp_path) == ["file.txt"]


@pytest.mark.parametrize("args", [("logbook", "--team", TEAM3, "--period", "2026"), ("cases",)])
async def test_an_unmigrated_database_is_refused(export, tmp_path, args):
    code, out, err = await export(*args)
    assert (code, out) == (2, "")
    assert "hoagiai db upgrade" in err and len(err.splitlines()) == 1
    assert files(tmp_path) == []
