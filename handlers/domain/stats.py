"""The figures behind /stats, month by month, as plain data: storage/stats.py counts them,
handlers/report_charts.py draws them. Months are reporting months (handlers/domain/periods.py:
from the 15th to the 14th by default, NĐ 09/2019).

Per month: the cases received (created in it) by field; the outcomes recorded in it (by the
case's current outcome and `outcome_at`, whatever the intervention: a transfer is an outcome
too); and how many of the cases received in it are still open (not closed) now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from handlers.domain.model import DISPUTE_FIELDS
from handlers.domain.workflow import OUTCOMES, TRANSFERRED

STATS_OUTCOMES: tuple[str, ...] = (*OUTCOMES, TRANSFERRED)  # the chart's order; "still open" follows


@dataclass(frozen=True)
class MonthStats:
    """One reporting month: `code` "2026-11", local dates [first, last]."""

    code: str
    first: date
    last: date
    received: dict[str, int] = field(default_factory=dict)  # by field code
    outcomes: dict[str, int] = field(default_factory=dict)  # by outcome value, recorded in the month
    still_open: int = 0  # of the cases received in the month

    @property
    def total_received(self) -> int:
        return sum(self.received.values())

    @property
    def total_outcomes(self) -> int:
        return sum(self.outcomes.values())


@dataclass(frozen=True)
class StatsSeries:
    """Consecutive reporting months, oldest first, for one ward (`ward_id`) or all (None)."""

    ward_id: int | None
    months: tuple[MonthStats, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not any(m.total_received or m.total_outcomes for m in self.months)

    @property
    def fields(self) -> tuple[str, ...]:
        """The form's fields in its order, then any other code seen (old data), sorted."""
        seen = {code for m in self.months for code in m.received}
        return DISPUTE_FIELDS + tuple(sorted(seen - set(DISPUTE_FIELDS)))

    @property
    def outcomes(self) -> tuple[str, ...]:
        seen = {code for m in self.months for code in m.outcomes}
        return STATS_OUTCOMES + tuple(sorted(seen - set(STATS_OUTCOMES)))
