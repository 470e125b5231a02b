"""The case records as the two exports read them, as plain data: storage/exports.py fills them,
handlers/export_output.py renders them.

- The mediation logbook (Sổ theo dõi hoạt động hòa giải ở cơ sở) of one mediation team for a
  period: one `LogbookEntry` per mediation case of the team (DOMAIN.md, seed 002).
- The list of every case for entry into the national dispute software (seeds 000, 001): one
  `CaseLine` per case.

Neither carries what must never leave the case: the reporter (account, name) and the contact
phone are not read at all, nor the parties' contacts. What a confidential case's reporter wrote
is withheld too (`withheld`), and phone numbers typed into free text are masked (`mask_phones`).
Dates are local dates in the ward's zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

MEDIATION = "mediation"  # handlers.domain.workflow.MEDIATION
SUCCESSFUL, UNSUCCESSFUL, WITHDRAWN = "successful", "unsuccessful", "withdrawn"
IN_PROGRESS = "in_progress"  # a mediation with no outcome yet
APPLICANT = "applicant"  # handlers.domain.workflow.PARTY_ROLES
# A Vietnamese phone number as people type it: 0 or +84 / 84, then 8-10 more digits, with spaces,
# dots or dashes between groups ("0912 345 678", "+84.912.345.678"). Land parcel and map sheet
# numbers are short, and do not start with 0.
PHONE = re.compile(r"(?<![\d+])(?:\+?84|0)(?:[ .\-]?\d){8,10}(?!\d)")


@dataclass(frozen=True)
class Team:
    """A mediation team (a unit of kind "team") with the group and ward above it."""

    id: int
    code: str
    name: str
    group_name: str | None
    ward_name: str | None


@dataclass(frozen=True)
class PartyName:
    """A party as an export shows it: name and role, never the contact."""

    name: str
    role: str


@dataclass(frozen=True)
class SessionHeld:
    held_on: date
    place: str
    mediators: str
    note: str | None


@dataclass(frozen=True)
class Promise:
    """A commitment made in mediation and the day it is checked."""

    text: str
    check_on: date
    status: str


@dataclass(frozen=True)
class LogbookEntry:
    """One mediation case of the team. `received_on`: when the team got it (the later of its
    assignment to the team and the choice of mediation); the record is the successful
    mediation's (Điều 24: parties, facts, agreement, execution)."""

    code: str
    received_on: date
    summary: str
    confidential: bool
    parties: tuple[PartyName, ...]
    sessions: tuple[SessionHeld, ...]
    record: dict[str, str] | None
    outcome: str | None
    outcome_on: date | None
    commitments: tuple[Promise, ...]
    closed_on: date | None

    @property
    def result(self) -> str:
        return self.outcome if self.outcome in (SUCCESSFUL, UNSUCCESSFUL, WITHDRAWN) else IN_PROGRESS


@dataclass(frozen=True)
class Logbook:
    """A team's logbook for a period; `members` are the team's mediators, named when no session
    says who took part."""

    team: Team
    period: str
    first: date
    last: date
    members: tuple[str, ...]
    entries: tuple[LogbookEntry, ...]


@dataclass(frozen=True)
class CaseLine:
    """One case for the national dispute software (codes; the renderer turns them into labels)."""

    code: str
    received_on: date
    ward: str | None
    group: str | None
    field: str
    nature: str | None
    complexity: str | None
    summary: str
    confidential: bool
    parties: tuple[PartyName, ...]
    intervention: str | None
    step: int
    status: str
    outcome: str | None
    outcome_on: date | None
    closed_on: date | None
    lead_unit: str | None


def mask_phones(text: str, mask: str) -> str:
    """Free text with every phone number replaced by `mask`: residents type their own or a
    neighbour's number into a summary or a note, and no export carries a phone number."""
    return PHONE.sub(mask, text)


def shown_parties(parties: tuple[PartyName, ...], confidential: bool, withheld: str) -> tuple[PartyName, ...]:
    """The parties as an export may show them: in a confidential case the applicant is most often
    the reporter, so applicants' names are withheld (Luật Tố cáo 2018, Điều 47; BLTTHS Điều 56)."""
    if not confidential:
        return parties
    return tuple(PartyName(withheld, party.role) if party.role == APPLICANT else party for party in parties)


def mediators_of(sessions: tuple[SessionHeld, ...]) -> tuple[str, ...]:
    """The names the sessions list as mediators (typed as "A, B"), each once, in order."""
    names: dict[str, None] = {}
    for session in sessions:
        for name in re.split(r"[,;\n]", session.mediators):
            if name.strip():
                names.setdefault(" ".join(name.split()), None)
    return tuple(names)


def local_date(moment: datetime, zone: str) -> date:
    """The ward's calendar day of a UTC moment."""
    return moment.astimezone(ZoneInfo(zone)).date()


def local_window(first: date | None, last: date | None, zone: str) -> tuple[datetime | None, datetime | None]:
    """The UTC window [starts, ends) of the local days `first` to `last`, both included (None: open)."""
    tz = ZoneInfo(zone)
    starts = datetime.combine(first, time.min, tz).astimezone(timezone.utc) if first else None
    ends = datetime.combine(last + timedelta(days=1), time.min, tz).astimezone(timezone.utc) if last else None
    return starts, ends
