"""What the core needs from the outside, as protocols: storage, time and text.

`storage/` implements `UnitOfWork`; tests may pass fakes. The core never imports SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from typing import Literal, NamedTuple

from handlers.domain.model import Case, FormSession, NewCase, OutboxMessage, Person, Unit
from handlers.messages import FileRef, Outgoing


class DuplicateUpdate(Exception):
    """The inbound update was already handled (raised on commit when a twin raced us)."""


class ConcurrencyConflict(Exception):
    """A row changed under us (optimistic locking); the caller retries with fresh state."""


class SealBroken(Exception):
    """A sealed identity that no configured key opens (its key was dropped, or the bytes altered)."""


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""


class Translator(Protocol):
    languages: tuple[str, ...]

    def __call__(self, key: str, lang: str, /, **params: Any) -> str:
        """The message `key` in `lang`, with `params` filled in."""


class InboundRepo(Protocol):
    async def seen(self, platform: str, bot_id: str, update_id: str) -> bool: ...
    async def record(self, platform: str, bot_id: str, update_id: str, at: datetime) -> None:
        """Raises DuplicateUpdate when the update was recorded before."""
    async def prune(self, before: datetime) -> int: ...


class PeopleRepo(Protocol):
    async def by_identity(self, platform: str, external_id: str) -> Person | None: ...
    async def create(
        self, *, platform: str, external_id: str, display_name: str | None,
        language: str, consent_version: str, now: datetime,
    ) -> Person: ...
    async def set_language(self, person_id: int, language: str) -> None: ...


class UnitRepo(Protocol):
    async def ward(self, code: str | None) -> Unit | None:
        """The ward with `code`, or the first ward when `code` is None."""
    async def wards(self) -> list[Unit]: ...
    async def groups(self, ward_id: int) -> list[Unit]: ...
    async def departments(self, ward_id: int) -> list[Unit]:
        """The ward's departments (police, office, ...): routing and new-case alerts need them."""
    async def get(self, unit_id: int) -> Unit | None: ...


class FormRepo(Protocol):
    async def active(self, person_id: int) -> FormSession | None: ...
    async def save(self, session: FormSession) -> FormSession:
        """Insert (id None) or update with a version check, raising ConcurrencyConflict;
        sets the new id and version on `session` too."""
    async def delete(self, session_id: int) -> None: ...
    async def purge_expired(self, now: datetime) -> int: ...


class CaseRepo(Protocol):
    async def add(self, new: NewCase) -> Case:
        """Stores the case and gives it its code, `HG-<year>-<id:06d>`."""
    async def for_reporter(self, person_id: int, limit: int = 20) -> list[Case]: ...
    async def add_event(
        self, case_id: int, *, actor_id: int | None, kind: str,
        data: dict[str, Any], at: datetime,
    ) -> None: ...
    async def add_events(self, events: list[dict[str, Any]]) -> None:
        """Many events at once (case_id, actor_id, kind, data, at)."""
    async def add_attachment(self, case_id: int, platform: str, file: FileRef, at: datetime) -> None: ...


class OutboxRepo(Protocol):
    async def add(self, message: Outgoing, now: datetime, lease_seconds: int | None = None,
                  owner: str | None = None) -> int:
        """With `lease_seconds` (and no dedupe key) the row is stored already claimed by `owner`."""
    async def claim_due(self, channels: list[str], now: datetime, limit: int, lease_seconds: int,
                        owner: str | None = None) -> list[OutboxMessage]:
        """Pending rows due by `now`, leased so another worker skips them until the lease ends."""
    async def release_leases(self, owner: str, now: datetime) -> int:
        """Rows `owner` held when it stopped are due again (it restarted)."""
    async def add_many(self, messages: list[Outgoing], now: datetime) -> None:
        """Unleased rows in one statement; a dedupe key already stored is skipped."""
    async def mark_sent(self, message_id: int, now: datetime) -> None: ...
    async def mark_sent_many(self, message_ids: list[int], now: datetime) -> None: ...
    async def mark_retry(self, message_id: int, error: str, next_attempt_at: datetime) -> None: ...
    async def mark_failed(self, message_id: int, error: str, now: datetime) -> None: ...
    async def wake(self, channel: str, chat_id: str, now: datetime) -> int:
        """Make a chat's waiting rows due now (its client just connected)."""


class BlobRepo(Protocol):
    """Files the bot sends, by content (sha256), kept until the outbox has delivered them."""

    async def put(self, data: bytes, mime_type: str, now: datetime) -> str:
        """Stores `data` once and returns its sha256 (hex). Idempotent, also when two
        transactions put the same bytes at once; a repeated put counts as recent use."""
    async def get(self, sha256: str) -> tuple[bytes, str] | None:
        """The bytes and MIME type, or None when no such blob is stored (pruned)."""
    async def prune(self, before: datetime) -> int:
        """Deletes blobs last stored before `before` that no undelivered outbox row names."""


class IdentityRepo(Protocol):
    """Identities of confidential reporters (name, phone, accounts, ...), sealed (encrypted) in a
    table of their own, apart from the case, which keeps only the id (storage/identity_vault.py).
    Opening one is for the head's reveal, which records who, when and why."""

    async def add(self, data: dict[str, Any], now: datetime) -> int:
        """Seals `data` (JSON-serialisable) with the current key; returns the id to keep on the case."""
    async def get(self, identity_id: int) -> dict[str, Any] | None:
        """The opened identity; None when it was deleted; raises SealBroken when no key opens it."""
    async def delete(self, identity_id: int) -> None:
        """For a withdrawal of consent or a deletion request; a missing id is no error."""
    def seal_token(self, data: dict[str, Any]) -> str:
        """`data` sealed as text the caller keeps (a form session's reference to a tip-off)."""
    def open_token(self, token: str, max_age_seconds: int) -> dict[str, Any] | None:
        """What `seal_token` sealed; None when too old, altered or sealed with a dropped key."""


class ReceiptCheckRepo(Protocol):
    """Failed tip-off receipt checks per account (storage/receipt_checks.py), for an hourly limit
    on top of each receipt's own lockout; rows never name the code tried."""

    async def failed_since(self, person_id: int, since: datetime) -> int: ...
    async def record_failure(self, person_id: int, now: datetime) -> None: ...
    async def prune(self, before: datetime) -> int: ...


TipoffMode = Literal["anonymous", "confidential"]
TipoffSender = Literal["reporter", "police"]


@dataclass(frozen=True)
class Tipoff:
    """A tip-off's record beside its case; never the reporter's identity, only whether one is sealed."""

    id: int
    case_id: int
    mode: TipoffMode
    number: int  # officers see "Người báo tin #<number>"
    has_identity: bool
    happening_now: bool
    created_at: datetime


class IssuedReceipt(NamedTuple):
    """What `TipoffRepo.create` returns: the code and PIN are shown to the reporter once, never
    stored or logged (the repr hides them)."""

    tipoff_id: int
    number: int
    code: str
    pin: str

    def __repr__(self) -> str:
        return f"IssuedReceipt(tipoff_id={self.tipoff_id}, number={self.number}, code=***, pin=***)"


@dataclass(frozen=True)
class TipoffLookup:
    """A status check by code and PIN. Render "wrong" and "unknown" alike, so a guessed code
    learns nothing; `tries_left` and `locked_until` only come with a known code."""

    outcome: Literal["found", "wrong", "locked", "unknown"]
    tipoff: Tipoff | None = None
    tries_left: int | None = None
    locked_until: datetime | None = None


@dataclass(frozen=True)
class TipoffMessage:
    """One message of the anonymous dialogue; `officer_id` is for the audit, never shown."""

    id: int
    tipoff_id: int
    sender: TipoffSender
    text: str
    files: list[dict[str, Any]]
    at: datetime
    officer_id: int | None = None


class TipoffRepo(Protocol):
    """Crime tip-offs beside their cases (storage/tipoffs.py): receipts stored as hashes only,
    confidential identities sealed in `sealed_identities`, and the two-way anonymous dialogue."""

    async def create(self, case_id: int, mode: TipoffMode, happening_now: bool,
                     identity: dict[str, Any] | None, now: datetime) -> IssuedReceipt:
        """Next free reporter number (safe under concurrency), a fresh code and PIN (only their
        hashes stored), `identity` sealed for confidential mode only."""
    async def lookup(self, code: str, pin: str, now: datetime) -> TipoffLookup:
        """Checks code and PIN, counting wrong PINs and locking (handlers.domain.receipts);
        the caller commits, so the count sticks."""
    async def get(self, tipoff_id: int) -> Tipoff | None: ...
    async def by_case(self, case_id: int) -> Tipoff | None: ...
    async def add_message(self, tipoff_id: int, sender: TipoffSender, text: str, files: list[dict[str, Any]],
                          officer_id: int | None, now: datetime) -> TipoffMessage: ...
    async def messages(self, tipoff_id: int) -> list[TipoffMessage]:
        """Oldest first."""
    async def reporter_chat(self, tipoff_id: int) -> tuple[str, str] | None:
        """(platform, chat id) of a confidential reporter, from the sealed identity; None for
        anonymous ones (they check in with code and PIN) or when the identity was deleted."""
    async def open_identity(self, tipoff_id: int) -> dict[str, Any] | None:
        """The opened sealed identity, for the head's recorded reveal only (and to pick the reply's
        language); None when anonymous or deleted; raises SealBroken. Never log or store it."""


class PrivacyRepo(Protocol):
    """A person's rights over their data, and the retention of closed cases (storage/privacy.py)."""

    async def profile(self, person_id: int) -> dict[str, Any]:
        """The person's own record for an export: profile, accounts, roles, monthly updates."""
    async def record(self, person_id: int | None, kind: str, *, requested_at: datetime,
                     done_at: datetime | None, detail: dict[str, int]) -> int:
        """A privacy request with its dates; `detail` holds counts only."""
    async def erase(self, person_id: int, now: datetime) -> dict[str, int]:
        """Removes or unlinks the person's personal data; returns counts of what was done."""
    async def anonymise_closed(self, closed_before: datetime, limit: int) -> int:
        """Strips reporter, contacts and place from up to `limit` cases closed before then."""


# What a channel reads file bytes with: sha256 -> (bytes, MIME type), or None when not stored.
BlobReader = Callable[[str], Awaitable[tuple[bytes, str] | None]]


class UnitOfWork(Protocol):
    """One transaction. Repositories never commit; `commit()` does, and may raise
    DuplicateUpdate or ConcurrencyConflict. Leaving the block without commit rolls back."""

    updates: InboundRepo
    people: PeopleRepo
    units: UnitRepo
    forms: FormRepo
    cases: CaseRepo
    outbox: OutboxRepo
    blobs: BlobRepo
    identities: IdentityRepo
    tipoffs: TipoffRepo
    receipt_checks: ReceiptCheckRepo
    privacy: PrivacyRepo

    async def __aenter__(self) -> "UnitOfWork": ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class RetryLater(Exception):
    """The channel asks us to wait (Telegram's RetryAfter, a web client not connected)."""

    def __init__(self, seconds: float, reason: str = "") -> None:
        super().__init__(reason or f"retry after {seconds}s")
        self.seconds = seconds


class PermanentFailure(Exception):
    """The message can never be delivered (user blocked the bot, chat gone): do not retry."""


class Channel(Protocol):
    """Sends one stored reply to one chat; raises RetryLater, PermanentFailure or anything
    else for a transient error (retried with backoff)."""

    name: str

    async def send(self, chat_id: str, payload: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class ChannelLimits:
    """How fast a platform lets a bot send; None is no limit. Every API call counts: a long
    reply sent as three messages is three. The outbox sender spaces calls evenly (no bursts):
    `overall_per_second` across all chats, and per chat the stricter of `per_chat_per_second`
    and, in group chats, `per_group_per_minute`. With `hold_channel_on_retry` a RetryLater from
    one chat (the platform's flood control) holds every send of the channel for that long."""

    overall_per_second: float | None = None
    per_chat_per_second: float | None = None
    per_group_per_minute: float | None = None
    hold_channel_on_retry: bool = False

    def chat_interval(self, group: bool) -> float | None:
        """Seconds between two calls to one chat, or None when a chat has no limit of its own."""
        intervals = [1 / self.per_chat_per_second] if self.per_chat_per_second else []
        if group and self.per_group_per_minute:
            intervals.append(60 / self.per_group_per_minute)
        return max(intervals, default=None)


Pace = Callable[[], Awaitable[None]]


class PacedChannel(Channel, Protocol):
    """A Channel with rate limits: it awaits `pace()` before each API call a payload needs, and
    says which chats are groups (their limit differs). The sender owns the limiters."""

    limits: ChannelLimits

    def is_group(self, chat_id: str) -> bool: ...

    async def send(self, chat_id: str, payload: dict[str, Any], *, pace: Pace | None = None) -> None: ...
