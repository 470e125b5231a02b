"""The exports' renderers and their pure helpers (handlers/export_output.py,
handlers/domain/exports.py), without a database."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from bot.export_cli import _bar, _progress
from handlers import export_output as out
from handlers.domain.exports import (
    CaseLine, Logbook, LogbookEntry, PartyName, SessionHeld, Team, local_window, mask_phones, mediators_of,
)
from handlers.domain.model import DISPUTE_FIELDS
from handlers.domain import workflow as wf
from handlers.i18n import LANGUAGES, CatalogTranslator, load_catalog
from handlers.report_output import Labels

T = CatalogTranslator()


def labels(lang: str = "vi") -> Labels:
    return Labels(T, lang)


def line(**changes) -> CaseLine:
    values = dict(code="HG-2026-000001", received_on=date(2026, 11, 2), ward="Phường A", group="Tổ 1", field="land",
                  nature=None, complexity=None, summary="Ranh giới đất.", confidential=False,
                  parties=(PartyName("Nguyễn Văn A", "applicant"),), intervention=None, step=1, status="new",
                  outcome=None, outcome_on=None, closed_on=None, lead_unit=None)
    return CaseLine(**(values | changes))


def entry(**changes) -> LogbookEntry:
    values = dict(code="HG-2026-000002", received_on=date(2026, 11, 3), summary="Tiếng ồn.", confidential=False,
                  parties=(), sessions=(), record=None, outcome=None, outcome_on=None, commitments=(), closed_on=None)
    return LogbookEntry(**(values | changes))


def test_every_key_the_exports_build_exists_in_both_languages():
    keys = {f"export.logbook.col.{name}" for name in (*out.LOGBOOK_COLUMNS, "result")}
    keys |= {f"export.cases.col.{name}" for name in out.CASE_COLUMNS}
    keys |= {f"actions.party_role.{role}" for role in wf.PARTY_ROLES}
    keys |= {f"actions.outcome_value.{code}" for code in (*wf.OUTCOMES, wf.TRANSFERRED)}
    keys |= {f"actions.intervention.{code}" for code in wf.INTERVENTIONS} | {f"field.{f}" for f in DISPUTE_FIELDS}
    for lang in LANGUAGES:
        assert not sorted(keys - set(load_catalog(lang))), lang


@pytest.mark.parametrize("text, masked", [
    ("gọi 0912 345 678 nhé", "gọi # nhé"),
    ("sđt: 0912.345.678, hoặc +84 912 345 678", "sđt: #, hoặc #"),
    ("0987654321", "#"),
    ("thửa 12, tờ bản đồ 34, năm 2026, 5.000.000 đồng, ngày 20/11/2026", None),
    ("số nhà 1234567", None),
])
def test_phone_numbers_are_masked_and_other_numbers_kept(text, masked):
    assert mask_phones(text, "#") == (text if masked is None else masked)


def test_mediators_are_read_from_the_sessions_once_each():
    sessions = (SessionHeld(date(2026, 11, 1), "X", "Trần Thị B,  Lê Văn C", None),
                SessionHeld(date(2026, 11, 2), "X", "Lê Văn C; Hồ Văn D\n", None))
    assert mediators_of(sessions) == ("Trần Thị B", "Lê Văn C", "Hồ Văn D")


def test_local_days_become_a_utc_window():
    starts, ends = local_window(date(2026, 11, 1), date(2026, 11, 30), "Asia/Ho_Chi_Minh")
    assert (starts.isoformat(), ends.isoformat()) == ("2026-10-31T17:00:00+00:00", "2026-11-30T17:00:00+00:00")
    assert local_window(None, None, "Asia/Ho_Chi_Minh") == (None, None)


def test_a_case_row_has_plain_labels_and_no_emoji():
    row = out.case_row(line(intervention="mediation", outcome="successful", outcome_on=date(2026, 11, 9), step=5,
                            status="monitoring", nature="civil", complexity="hotspot"), labels("en"))
    assert row[4:7] == ["Land", "civil", "risk of a hot spot"]
    assert row[9:15] == ["Grassroots mediation", 5, "being monitored", "Successful", "09/11/2026", ""]


def test_text_excel_would_run_is_kept_as_text():
    data = out.cases_csv_rows([line(summary="=HYPERLINK(\"http://x\")"), line(summary="-1+1"),
                               line(summary="- gạch đầu dòng")], labels())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert [row[7] for row in rows] == ["'=HYPERLINK(\"http://x\")", "'-1+1", "- gạch đầu dòng"]

    team = Team(1, "t", "Tổ hòa giải", None, None)
    book = Logbook(team, "2026-11", date(2026, 10, 15), date(2026, 11, 14), ("A",),
                   (entry(summary="=1+1"),))
    sheet = load_workbook(io.BytesIO(out.logbook_xlsx(book, labels()))).active
    assert (sheet["E8"].value, sheet["E8"].data_type) == ("=1+1", "s")
    assert sheet["A2"].value == "Tổ hòa giải: Tổ hòa giải · Thôn/tổ dân phố: — · Xã/phường: —"


def test_a_confidential_case_withholds_the_reporters_words_and_the_applicants_name():
    parties = (PartyName("Người Báo", "applicant"), PartyName("Người Bị", "respondent"))
    row = out.case_row(line(confidential=True, parties=parties, summary="Tôi là Người Báo"), labels())
    assert row[7:9] == ["(bảo mật)", "(bảo mật) (Bên yêu cầu); Người Bị (Bên bị yêu cầu)"] and row[16] == "Có"
    book_row = out.logbook_rows(Logbook(Team(1, "t", "T", None, None), "2026", date(2025, 12, 15),
                                        date(2026, 12, 14), (), (entry(confidential=True, parties=parties),)),
                                labels())[0]
    assert book_row[3:5] == ["(bảo mật) (Bên yêu cầu); Người Bị (Bên bị yêu cầu)", "(bảo mật)"]


def test_progress_is_a_line_every_so_often_or_a_bar_on_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr("bot.export_cli.PROGRESS_EVERY", 50_000)
    for before, done in ((0, 2000), (48_000, 50_000), (50_000, 52_000), (98_000, 100_500)):
        _progress(done, before, None)
    assert capsys.readouterr().err.splitlines() == ["exported 50,000 cases...", "exported 100,500 cases..."]
    with _bar(1000) as bar:
        _progress(500, 0, bar)
        _progress(700, 500, bar)
        assert (bar.n, bar.total, bar.unit) == (700, 1000, "cases")  # tqdm's bar on a terminal
    with _bar(None) as no_bar:
        assert no_bar is None
