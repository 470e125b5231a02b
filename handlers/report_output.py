"""The roll-up report as an officer reads it in chat (text), and as files for the Party committee's
report (CSV, XLSX). Every label comes from the catalogs (locales/*/LC_MESSAGES/report.po), so
the Vietnamese and English versions stay the same report. CSV and XLSX carry the same tables:
the XLSX has one sheet per table, the CSV one row per table row with the sheet's name first.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from handlers.domain.rollup import TARGET_HIGH, TARGET_LOW, Rollup

Translate = Callable[..., str]
Table = list[list[Any]]
DATE_FORMAT = "%d/%m/%Y"


LEADING_SYMBOLS = re.compile(r"^\W+")


def plain(label: str) -> str:
    """A catalog label without the emoji that buttons start with ("✅ Hòa giải thành"): charts
    have no glyph for them and spreadsheets do not want them."""
    return LEADING_SYMBOLS.sub("", label)


class Labels:
    """The catalog bound to one language: `labels("rollup.x", n=1)`."""

    def __init__(self, translate: Translate, lang: str) -> None:
        self.translate, self.lang = translate, lang

    def __call__(self, key: str, **params: Any) -> str:
        return self.translate(key, self.lang, **params)

    def field(self, code: str) -> str:
        return self(f"field.{code}")

    def nature(self, code: str) -> str:
        return self("rollup.nature.unclassified") if code == "unclassified" else self(f"workflow.nature.{code}")


def _target(t: Labels) -> dict[str, str]:
    return {"low": f"{TARGET_LOW:g}", "high": f"{TARGET_HIGH:g}"}


def _status(t: Labels, rollup: Rollup) -> str:
    if rollup.success_rate is None:
        return t("rollup.status.none")
    return t("rollup.status.below") if rollup.below_target else t("rollup.status.met")


def _ward(t: Labels, rollup: Rollup) -> str:
    return t("rollup.ward", name=rollup.ward.name, code=rollup.ward.code) if rollup.ward else t("rollup.all_wards")


def _counts(counts: dict[str, int], label: Callable[[str], str], t: Labels) -> str:
    return ", ".join(f"{label(key)} {n}" for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) \
        or t("rollup.none")


# --- text --------------------------------------------------------------------------------------

def text(rollup: Rollup, t: Labels, due: date | None = None) -> str:
    """A short summary: the figures, then what needs attention (prolonged cases, risks, missing
    monthly updates)."""
    lines = [t("rollup.title", period=rollup.period, first=rollup.first.strftime(DATE_FORMAT),
               last=rollup.last.strftime(DATE_FORMAT)), _ward(t, rollup)]
    if due is not None:
        lines.append(t("rollup.due", date=due.strftime(DATE_FORMAT)))
    lines += ["", t("rollup.received", count=rollup.received, urgent=rollup.urgent),
              t("rollup.by_field", list=_counts(rollup.by_field, t.field, t)),
              t("rollup.by_nature", list=_counts(rollup.by_nature, t.nature, t)),
              t("rollup.resolved", closed=rollup.resolved, stable=rollup.stable),
              t("rollup.mediation", mediated=rollup.mediated, successful=rollup.successful,
                unsuccessful=rollup.unsuccessful, withdrawn=rollup.withdrawn),
              _rate_line(rollup, t),
              t("rollup.prolonged", days=rollup.prolonged_days, count=rollup.prolonged)]
    lines += [t("rollup.prolonged.case", code=case.code, field=t.field(case.field), step=case.step, days=case.days)
              for case in rollup.prolonged_cases]
    if rollup.prolonged > len(rollup.prolonged_cases):
        lines.append(t("rollup.prolonged.more", count=rollup.prolonged - len(rollup.prolonged_cases)))
    for kind, key in (("hot_spot", "rollup.hot_spots"), ("mass_complaint", "rollup.mass_complaints")):
        risks = rollup.risks_of(kind)
        lines.append(t(key, count=len(risks)))
        lines += [t("rollup.risk.line", month=risk.month, group=risk.group_name,
                    people=_or_dash(t, risk.people), note=_or_dash(t, risk.note)) for risk in risks]
    for month in rollup.months:
        missing = rollup.missing(month)
        lines.append(t("rollup.missing", month=month, groups=", ".join(group.name for group in missing))
                     if missing else t("rollup.missing.none", month=month))
    return "\n".join(lines)


def _rate_line(rollup: Rollup, t: Labels) -> str:
    if rollup.success_rate is None:
        return t("rollup.rate.none")
    return t("rollup.rate", rate=f"{rollup.success_rate:g}", status=_status(t, rollup), **_target(t))


def _or_dash(t: Labels, value: object) -> str:
    return t("rollup.unknown") if value is None or value == "" else str(value)


# --- tables: the XLSX sheets and the CSV rows -------------------------------------------------

def tables(rollup: Rollup, t: Labels, due: date | None = None) -> list[tuple[str, Table]]:
    """(sheet title, rows with a header first) for Summary, By field and Groups."""
    return [(t("rollup.sheet.summary"), summary_table(rollup, t, due)),
            (t("rollup.sheet.fields"), fields_table(rollup, t)),
            (t("rollup.sheet.groups"), groups_table(rollup, t))]


def summary_table(rollup: Rollup, t: Labels, due: date | None = None) -> Table:
    rows: Table = [[t("rollup.col.item"), t("rollup.col.value")],
                   [t("rollup.label.period"), rollup.period],
                   [t("rollup.label.from"), rollup.first.strftime(DATE_FORMAT)],
                   [t("rollup.label.to"), rollup.last.strftime(DATE_FORMAT)],
                   [t("rollup.label.ward"), rollup.ward.name if rollup.ward else t("rollup.all_wards")]]
    if due is not None:
        rows.append([t("rollup.label.due"), due.strftime(DATE_FORMAT)])
    rows += [[t("rollup.label.received"), rollup.received],
             [t("rollup.label.urgent"), rollup.urgent],
             [t("rollup.label.resolved"), rollup.resolved],
             [t("rollup.label.stable"), rollup.stable],
             [t("rollup.label.mediated"), rollup.mediated],
             [t("rollup.label.successful"), rollup.successful],
             [t("rollup.label.unsuccessful"), rollup.unsuccessful],
             [t("rollup.label.withdrawn"), rollup.withdrawn],
             [t("rollup.label.rate"), rollup.success_rate],
             [t("rollup.label.target", **_target(t)), _status(t, rollup)],
             [t("rollup.label.prolonged", days=rollup.prolonged_days), rollup.prolonged],
             [t("rollup.label.hot_spots"), len(rollup.risks_of("hot_spot"))],
             [t("rollup.label.mass_complaints"), len(rollup.risks_of("mass_complaint"))],
             [t("rollup.label.groups"), len(rollup.groups)],
             [t("rollup.label.missing"), sum(len(group.missing) for group in rollup.groups)]]
    return rows


def fields_table(rollup: Rollup, t: Labels) -> Table:
    """Every field of the form (0 included), then the natures, in the catalog's order."""
    from handlers.domain.model import DISPUTE_FIELDS

    fields = list(DISPUTE_FIELDS) + sorted(set(rollup.by_field) - set(DISPUTE_FIELDS))
    rows: Table = [[t("rollup.col.field"), t("rollup.col.cases")]]
    rows += [[t.field(code), rollup.by_field.get(code, 0)] for code in fields]
    rows += [[], [t("rollup.col.nature"), t("rollup.col.cases")]]
    natures = ("civil", "administrative", "crime", "unclassified")
    rows += [[t.nature(code), rollup.by_nature.get(code, 0)] for code in natures]
    return rows


def groups_table(rollup: Rollup, t: Labels) -> Table:
    """One row per group (months as lists), then one row per risk flagged."""
    rows: Table = [[t("rollup.col.code"), t("rollup.col.group"), t("rollup.col.reported"),
                    t("rollup.col.nothing_new"), t("rollup.col.late"), t("rollup.col.missing")]]
    rows += [[group.code, group.name, ", ".join(group.reported), ", ".join(group.nothing_new), ", ".join(group.late),
              ", ".join(group.missing)] for group in rollup.groups]
    rows += [[], [t("rollup.col.month"), t("rollup.col.group"), t("rollup.col.risk"), t("rollup.col.people"),
                  t("rollup.col.note")]]
    rows += [[risk.month, risk.group_name, t(f"rollup.risk.{risk.kind}"), risk.people, risk.note]
             for risk in rollup.risks]
    return rows


def csv_bytes(rollup: Rollup, t: Labels, due: date | None = None) -> bytes:
    """UTF-8 with a BOM, so that Excel opens the Vietnamese labels right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for title, rows in tables(rollup, t, due):
        writer.writerows([title, *("" if cell is None else cell for cell in row)] for row in rows if row)
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_bytes(rollup: Rollup, t: Labels, due: date | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for title, rows in tables(rollup, t, due):
        sheet = book.create_sheet(title[:31])  # Excel's limit
        for row in rows:
            sheet.append(row)
        header_rows = [1] + [index + 2 for index, row in enumerate(rows) if not row]
        for number in header_rows:
            for cell in sheet[number]:
                cell.font = Font(bold=True)
        for column, width in ((1, 40), (2, 28), (3, 24), (4, 18), (5, 18), (6, 24)):
            sheet.column_dimensions[chr(64 + column)].width = width
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()
