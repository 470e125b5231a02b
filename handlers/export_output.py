"""The two exports of the case records as files: the mediation logbook (XLSX, CSV) and every case
for the national dispute software (CSV, written a chunk at a time). Pure: plain data in
(handlers/domain/exports.py), bytes out. Labels come from the catalogs (export.po, and the
fields', natures', outcomes' own keys) through report_output.Labels.

The logbook follows the Ministry of Justice's form, Sổ theo dõi hoạt động hòa giải ở cơ sở
(issued 21/04/2014), part I "ghi chép của hòa giải viên": its ten columns in its order, (1)
number, (2) date received, (3) mediators and people invited, (4) the parties, (5) main content,
(6) the parties' agreement (or each party's demands), (7)-(8) result: successful / unsuccessful,
(9) signatures, (10) notes. A withdrawn or unfinished mediation has neither result ticked; its
notes say so. The signature column stays empty for the printed book.

Both CSVs are UTF-8 with a BOM, so that Excel opens the Vietnamese right. Typed text that Excel
would run as a formula (=, +, @, -x) gets an apostrophe in front in a CSV; the XLSX stores it as
text.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from handlers.domain.exports import (
    IN_PROGRESS, SUCCESSFUL, UNSUCCESSFUL, CaseLine, Logbook, LogbookEntry, PartyName, mask_phones, mediators_of,
    shown_parties,
)
from handlers.report_output import Labels, Table, plain

BOM = "\ufeff"
MARK = "x"
FORMULA_START = re.compile(r"^(?:[=+@\t\r]|-[^\s-])")
LOGBOOK_COLUMNS = ("number", "received", "mediators", "parties", "content", "agreement", "successful",
                   "unsuccessful", "signature", "notes")
LOGBOOK_WIDTHS = (6, 13, 24, 34, 40, 40, 11, 11, 18, 34)
CaseLabel = Callable[[str, "str | None"], str]
CASE_COLUMNS = ("code", "received", "ward", "group", "field", "nature", "complexity", "summary", "parties",
                "intervention", "step", "status", "outcome", "outcome_on", "closed_on", "lead", "confidential")


# --- shared ----------------------------------------------------------------------------------

def _date(value: date | None) -> str:
    """DATE_FORMAT (dd/mm/yyyy), without strftime: a million rows have three dates each."""
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}" if value else ""


def _text(t: Labels, text: str | None) -> str:
    return mask_phones(text or "", t("export.phone"))


def _parties(t: Labels, parties: tuple[PartyName, ...], confidential: bool) -> str:
    shown = shown_parties(parties, confidential, t("export.withheld"))
    return "; ".join(f"{_text(t, party.name)} ({plain(t(f'actions.party_role.{party.role}'))})" for party in shown)


def _outcome(t: Labels, code: str | None) -> str:
    return plain(t(f"actions.outcome_value.{code}")) if code else ""


def _safe(value: Any) -> Any:
    """Text Excel would take for a formula, as text."""
    return "'" + value if isinstance(value, str) and FORMULA_START.match(value) else value


def _csv(rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(["" if cell is None else _date(cell) if isinstance(cell, date) else _safe(cell)
                         for cell in row])
    return buffer.getvalue()


# --- the mediation logbook --------------------------------------------------------------------

def logbook_titles(book: Logbook, t: Labels) -> list[str]:
    """The lines above the table: the book's name, the team with its group and ward, the period."""
    dash = t("export.none")
    return [t("export.logbook.title"),
            t("export.logbook.unit", team=book.team.name, group=book.team.group_name or dash,
              ward=book.team.ward_name or dash),
            t("export.logbook.period", period=book.period, first=_date(book.first), last=_date(book.last))]


def logbook_header(t: Labels) -> list[str]:
    """One header row (the CSV's): the result's two columns carry the group's name."""
    result = t("export.logbook.col.result")
    return [f"{result}: {t(f'export.logbook.col.{name}')}" if name in (SUCCESSFUL, UNSUCCESSFUL)
            else t(f"export.logbook.col.{name}") for name in LOGBOOK_COLUMNS]


def logbook_rows(book: Logbook, t: Labels) -> Table:
    """One row per entry, in the form's column order; the date received as a date."""
    return [_logbook_row(number, entry, book, t) for number, entry in enumerate(book.entries, start=1)]


def _logbook_row(number: int, entry: LogbookEntry, book: Logbook, t: Labels) -> list[Any]:
    return [number, entry.received_on, ", ".join(mediators_of(entry.sessions) or book.members),
            _parties(t, entry.parties, entry.confidential), _content(entry, t), _agreement(entry, t),
            MARK if entry.result == SUCCESSFUL else "", MARK if entry.result == UNSUCCESSFUL else "", "",
            _notes(entry, t)]


def _content(entry: LogbookEntry, t: Labels) -> str:
    """The mediator's account of the facts once recorded; else what was reported (withheld when
    the reporter asked for confidentiality)."""
    facts = (entry.record or {}).get("facts")
    if facts:
        return _text(t, facts)
    return t("export.withheld") if entry.confidential else _text(t, entry.summary)


def _agreement(entry: LogbookEntry, t: Labels) -> str:
    """The agreement and how it is carried out (successful); else what the sessions noted, which
    is where each party's demands are written."""
    record = entry.record or {}
    if record.get("agreement"):
        lines = [record["agreement"]]
        if record.get("execution"):
            lines.append(t("export.logbook.execution", text=record["execution"]))
    else:
        lines = [f"{_date(session.held_on)}: {session.note}" for session in entry.sessions if session.note]
    return _text(t, "\n".join(lines))


def _notes(entry: LogbookEntry, t: Labels) -> str:
    lines = [t("export.logbook.case", code=entry.code)]
    if entry.result == IN_PROGRESS:
        lines.append(t("export.logbook.in_progress"))
    else:
        lines.append(t("export.logbook.outcome_on", outcome=_outcome(t, entry.outcome), date=_date(entry.outcome_on)))
    lines += [t("export.logbook.session", date=_date(session.held_on), place=session.place)
              for session in entry.sessions]
    lines += [t("export.logbook.commitment", text=promise.text, date=_date(promise.check_on))
              for promise in entry.commitments]
    if entry.closed_on:
        lines.append(t("export.logbook.closed", date=_date(entry.closed_on)))
    return _text(t, "\n".join(lines))


def logbook_csv(book: Logbook, t: Labels) -> bytes:
    """The header and one row per entry (no title lines: a CSV is read by programs)."""
    return (BOM + _csv([logbook_header(t), *logbook_rows(book, t)])).encode("utf-8")


def logbook_xlsx(book: Logbook, t: Labels) -> bytes:
    """The book as on paper: title lines, the form's two header rows and its column numbers,
    then the entries, wrapped, on landscape pages one column wide."""
    from openpyxl import Workbook

    book_file = Workbook()
    sheet = book_file.active
    sheet.title = t("export.logbook.sheet")[:31]
    header_row = _xlsx_titles(sheet, logbook_titles(book, t))
    first_data = _xlsx_header(sheet, header_row, t)
    rows = logbook_rows(book, t)
    for offset, row in enumerate(rows):
        _xlsx_row(sheet, first_data + offset, row)
    if not rows:
        sheet.cell(first_data, 1, t("export.logbook.empty"))
        sheet.merge_cells(start_row=first_data, start_column=1, end_row=first_data, end_column=len(LOGBOOK_COLUMNS))
    _xlsx_layout(sheet, first_data)
    output = io.BytesIO()
    book_file.save(output)
    return output.getvalue()


def _xlsx_titles(sheet: Any, titles: list[str]) -> int:
    """The title lines, merged across the table, the first in large bold; returns the header's row."""
    from openpyxl.styles import Alignment, Font

    for number, line in enumerate(titles, start=1):
        cell = sheet.cell(number, 1, line)
        cell.font = Font(bold=True, size=14 if number == 1 else 11)
        cell.alignment = Alignment(horizontal="center")
        sheet.merge_cells(start_row=number, start_column=1, end_row=number, end_column=len(LOGBOOK_COLUMNS))
    return len(titles) + 2


def _xlsx_header(sheet: Any, top: int, t: Labels) -> int:
    """The form's header: every column over two rows but the result, split into its two; then
    the column numbers (1)-(10). Returns the first data row."""
    from openpyxl.styles import Alignment, Font

    result = LOGBOOK_COLUMNS.index(SUCCESSFUL) + 1
    for column, name in enumerate(LOGBOOK_COLUMNS, start=1):
        if name in (SUCCESSFUL, UNSUCCESSFUL):
            sheet.cell(top + 1, column, t(f"export.logbook.col.{name}"))
        else:
            sheet.cell(top, column, t(f"export.logbook.col.{name}"))
            sheet.merge_cells(start_row=top, start_column=column, end_row=top + 1, end_column=column)
        sheet.cell(top + 2, column, f"({column})")
    sheet.cell(top, result, t("export.logbook.col.result"))
    sheet.merge_cells(start_row=top, start_column=result, end_row=top, end_column=result + 1)
    # Excel does not fit a row's height to merged cells: room for the longest header (signatures).
    sheet.row_dimensions[top].height, sheet.row_dimensions[top + 1].height = 80, 32
    for row in range(top, top + 3):
        for column in range(1, len(LOGBOOK_COLUMNS) + 1):
            cell = sheet.cell(row, column)
            cell.font = Font(bold=True, italic=row == top + 2)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            _border(cell)
    return top + 3


def _xlsx_row(sheet: Any, number: int, row: list[Any]) -> None:
    from openpyxl.styles import Alignment

    for column, value in enumerate(row, start=1):
        cell = sheet.cell(number, column, None if value == "" else value)
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"  # a resident's text, never a formula
        if isinstance(value, date):
            cell.number_format = "DD/MM/YYYY"
        centred = LOGBOOK_COLUMNS[column - 1] in ("number", "received", SUCCESSFUL, UNSUCCESSFUL)
        cell.alignment = Alignment(vertical="top", wrap_text=True, horizontal="center" if centred else None)
        _border(cell)


def _border(cell: Any) -> None:
    from openpyxl.styles import Border, Side

    thin = Side(style="thin")
    cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)


def _xlsx_layout(sheet: Any, first_data: int) -> None:
    """Column widths, the header kept in view, and pages that print like the paper book."""
    from openpyxl.utils import get_column_letter

    for column, width in enumerate(LOGBOOK_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = sheet.cell(first_data, 1)
    sheet.print_title_rows = f"{first_data - 3}:{first_data - 1}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


# --- every case, for the national dispute software ------------------------------------------

def cases_csv_header(t: Labels) -> bytes:
    """The BOM and the header row: write it first, then `cases_csv_rows` of each chunk."""
    return (BOM + _csv([[t(f"export.cases.col.{name}") for name in CASE_COLUMNS]])).encode("utf-8")


def cases_csv_rows(lines: Iterable[CaseLine], t: Labels) -> bytes:
    buffer, label = io.StringIO(), _case_labels(t)
    csv.writer(buffer).writerows(case_row(line, t, label) for line in lines)
    return buffer.getvalue().encode("utf-8")


def case_row(line: CaseLine, t: Labels, label: CaseLabel | None = None) -> list[str | int]:
    """One case in CASE_COLUMNS' order, as CSV cells, labels in the language of `t`. A
    confidential case's summary (the reporter's own words) is withheld, and so are its
    applicants' names."""
    label = label or _case_labels(t)
    summary = label("withheld", "") if line.confidential else _safe(_text(t, line.summary))
    return [
        line.code, _date(line.received_on), _safe(line.ward or ""), _safe(line.group or ""),
        label("field", line.field), label("nature", line.nature or "unclassified"),
        label("complexity", line.complexity), summary, _safe(_parties(t, line.parties, line.confidential)),
        label("intervention", line.intervention), line.step, label("status", line.status),
        label("outcome_value", line.outcome), _date(line.outcome_on), _date(line.closed_on),
        _safe(line.lead_unit or ""), label("answer", "yes" if line.confidential else "no"),
    ]


def _case_labels(t: Labels) -> CaseLabel:
    """The case columns' labels by (kind, code), each looked up once: a million rows share a few
    dozen labels, and the lookup was most of the export's time."""
    @functools.cache
    def label(kind: str, code: str | None) -> str:
        if code is None:
            return ""
        if kind in ("field", "nature"):
            return getattr(t, kind)(code)
        if kind in ("intervention", "outcome_value"):
            return plain(t(f"actions.{kind}.{code}"))
        if kind == "answer":
            return t(f"actions.answer.{code}")
        if kind == "withheld":
            return t("export.withheld")
        return t(f"workflow.{kind}.{code}")  # status, complexity

    return label
