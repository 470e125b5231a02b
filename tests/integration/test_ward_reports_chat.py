"""The ward's report and statistics in chat: the officer picks a period and gets the text, the
chart as a picture and the XLSX file, stored once in the database and sent through the outbox;
nobody but the ward police may ask."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.integration.test_case_actions import (  # noqa: F401 (fixtures)
    LEADER, OFFICER, RESIDENT, harness, staff, ward,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def blob(h, sha256: str) -> tuple[bytes, str]:
    async with h.uow_factory() as uow:
        found = await uow.blobs.get(sha256)
    assert found is not None, sha256
    return found


async def test_the_officer_gets_the_text_the_chart_and_the_spreadsheet(staff):
    h = staff  # the clock is 22/11/2026 09:00 local; the resident's case was received then
    await h.send(user=OFFICER, text="/summary")
    offered = [choice.label for row in h.last(OFFICER).buttons for choice in row]
    # The latest month that has ended is 15/10-14/11 ("2026-11"); the quarter, half and year it is in.
    assert offered == ["Month 2026-11", "Quarter 2026-Q4", "Half-year 2026-H2", "Year 2026"]

    await h.press("Quarter 2026-Q4", OFFICER)
    reply = h.last(OFFICER)
    assert "Roll-up report 2026-Q4 (15/09/2026 to 14/12/2026)" in reply.text
    assert "Received: 1 cases (0 urgent)" in reply.text
    assert [(f.kind, f.file_name, f.mime_type) for f in reply.files] == [
        ("photo", "bao-cao-2026-Q4.png", "image/png"),
        ("document", "bao-cao-2026-Q4.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")]
    png, _ = await blob(h, reply.files[0].sha256)
    assert png.startswith(PNG_SIGNATURE) and len(png) > 5_000
    sheet, _ = await blob(h, reply.files[1].sha256)
    summary = load_workbook(io.BytesIO(sheet))["Summary"]
    rows = {row[0]: row[1] for row in summary.iter_rows(values_only=True)}
    assert (rows["Period"], rows["Cases received"]) == ("2026-Q4", 1)

    await h.send(user=OFFICER, text="/summary 2026-11")
    assert "Received: 0 cases" in h.last(OFFICER).text  # the month before the case came


async def test_a_period_that_is_not_one_is_explained(staff):
    h = staff
    await h.send(user=OFFICER, text="/summary 2026-13")
    reply = h.last(OFFICER)
    assert "“2026-13” is not a reporting period" in reply.text and not reply.files
    assert "Month 2026-11" in str(reply.buttons)


async def test_the_statistics_of_the_last_twelve_months(staff):
    h = staff
    await h.press("12-month statistics", OFFICER)  # the police menu's button
    reply = h.last(OFFICER)
    assert "month by month from 2026-01 to 2026-12" in reply.text
    assert [(f.kind, f.mime_type) for f in reply.files] == [("photo", "image/png")]
    png, mime = await blob(h, reply.files[0].sha256)
    assert png.startswith(PNG_SIGNATURE) and mime == "image/png"


async def test_only_the_ward_police_get_reports(staff):
    h = staff
    for user in (LEADER, RESIDENT):
        for asked in ({"text": "/summary 2026"}, {"text": "/stats"}, {"callback": "k:r:2026"}, {"callback": "k:st"}):
            await h.send(user=user, **asked)
            reply = h.last(user)
            assert not reply.files and "Roll-up report" not in reply.text
    assert "Only the ward police can see" in h.last(LEADER).text
    assert await h.count("blobs") == 0
