"""The figures of the ward police's roll-up report (monthly, quarterly, 6-monthly, yearly; seeds
001, 002, 004), as plain data: storage/reports.py counts them, handlers/report_output.py renders
them (text, CSV, XLSX, chart). The definitions of each figure are in storage/reports.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

MEDIATION = "mediation"  # handlers.domain.workflow.MEDIATION
SUCCESSFUL, UNSUCCESSFUL, WITHDRAWN = "successful", "unsuccessful", "withdrawn"
UNCLASSIFIED = "unclassified"  # the nature key of cases not classified yet
TARGET_LOW, TARGET_HIGH = 90.0, 95.0  # mediation success rate the plans set (seed 002), in %
DEFAULT_PROLONGED_DAYS = 30
PROLONGED_LISTED = 50
RISK_KINDS = ("hot_spot", "mass_complaint")


@dataclass(frozen=True)
class Ward:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class ProlongedCase:
    code: str
    field: str
    step: int
    days: int  # whole days open at the end of the window


@dataclass(frozen=True)
class Risk:
    """A risk a group flagged in its monthly update: `kind` hot_spot or mass_complaint."""

    month: str
    kind: str
    group_code: str
    group_name: str
    people: int | None
    note: str | None


@dataclass(frozen=True)
class GroupMonths:
    """One residential group over the period's months: which updates came, and how."""

    code: str
    name: str
    reported: tuple[str, ...]
    nothing_new: tuple[str, ...]
    late: tuple[str, ...]
    missing: tuple[str, ...]


@dataclass(frozen=True)
class Rollup:
    """The figures of one roll-up report (see the module's docstring for each definition)."""

    period: str
    months: tuple[str, ...]
    first: date  # local dates of the period
    last: date
    starts: datetime  # the UTC window [starts, ends)
    ends: datetime
    ward: Ward | None  # None: every ward in the database
    received: int = 0
    by_field: dict[str, int] = field(default_factory=dict)
    by_nature: dict[str, int] = field(default_factory=dict)
    urgent: int = 0
    resolved: int = 0
    stable: int = 0
    successful: int = 0
    unsuccessful: int = 0
    withdrawn: int = 0
    prolonged_days: int = DEFAULT_PROLONGED_DAYS
    prolonged: int = 0
    prolonged_cases: tuple[ProlongedCase, ...] = ()
    groups: tuple[GroupMonths, ...] = ()
    risks: tuple[Risk, ...] = ()

    @property
    def mediated(self) -> int:
        return self.successful + self.unsuccessful

    @property
    def success_rate(self) -> float | None:
        """Percent, one decimal; None when nothing was mediated to an end."""
        return round(100 * self.successful / self.mediated, 1) if self.mediated else None

    @property
    def below_target(self) -> bool:
        return self.success_rate is not None and self.success_rate < TARGET_LOW

    def missing(self, month: str) -> tuple[GroupMonths, ...]:
        """The groups whose update for `month` did not come."""
        return tuple(group for group in self.groups if month in group.missing)

    def risks_of(self, kind: str) -> tuple[Risk, ...]:
        return tuple(risk for risk in self.risks if risk.kind == kind)
