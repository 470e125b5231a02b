"""Neutral message types: what every platform adapter translates to and from.

The core never sees a Telegram `Update` or a Zalo event; adapters build an `Inbound`
and render `Reply` objects. Replies are plain data so they can sit in the outbox as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Platform = Literal["telegram", "web", "zalo"]
ChatType = Literal["private", "group"]
FileKind = Literal["photo", "document"]
ShareKind = Literal["location", "phone"]

MAX_CALLBACK_BYTES = 64  # Telegram's limit; the other platforms allow more
# Longer button labels are cut on phones (one button per row shows about this much); labels
# built from data (unit names, case summaries) are shortened to fit, with an ellipsis.
MAX_LABEL_CHARS = 64


@dataclass(frozen=True)
class UserRef:
    """An account on one platform; `external_id` is the platform's user id as text."""

    platform: str
    external_id: str
    display_name: str | None = None
    language_code: str | None = None


@dataclass(frozen=True)
class FileRef:
    """A file the user sent; adapters download it and compute `sha256` before dispatch.

    `data` holds the downloaded bytes for this update only (never stored in a form or a row):
    a tip-off's evidence is cleaned of metadata from it (handlers/evidence.py)."""

    kind: FileKind
    file_id: str
    sha256: str
    size: int
    mime_type: str | None = None
    file_name: str | None = None
    data: bytes | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Inbound:
    """One incoming update, whatever the platform.

    `update_id` is unique per (platform, bot_id) and is what makes handling exactly-once.
    `unsupported` names content the bot cannot use (sticker, voice, video, ...).
    """

    platform: str
    bot_id: str
    update_id: str
    user: UserRef
    chat_id: str
    chat_type: ChatType = "private"
    text: str | None = None
    callback: str | None = None
    location: Location | None = None
    phone: str | None = None
    files: tuple[FileRef, ...] = ()
    unsupported: str | None = None
    received_at: datetime | None = None


@dataclass(frozen=True)
class Choice:
    """A button: `label` is already translated, `data` is the callback payload (<= 64 bytes)."""

    label: str
    data: str

    def __post_init__(self) -> None:
        if len(self.label) > MAX_LABEL_CHARS:
            object.__setattr__(self, "label", self.label[:MAX_LABEL_CHARS - 1].rstrip() + "…")
        if len(self.data.encode("utf-8")) > MAX_CALLBACK_BYTES:
            raise ValueError(f"callback payload over {MAX_CALLBACK_BYTES} bytes: {self.data!r}")


@dataclass(frozen=True)
class ShareRequest:
    """Ask the user to share their location or phone number, with a translated label.

    Telegram renders it as a keyboard button; other platforms use their own widget, and the
    flow always accepts the same data typed as text too.
    """

    kind: ShareKind
    label: str


@dataclass(frozen=True)
class OutFile:
    """A file the bot sends (a report's chart or spreadsheet). The bytes live in the blob store
    (`uow.blobs.put` gives the `sha256`), not in the reply: outbox rows stay small, and several
    messages can name one copy."""

    kind: FileKind
    sha256: str
    file_name: str
    mime_type: str
    caption: str | None = None

    def to_payload(self) -> dict[str, Any]:
        return {"kind": self.kind, "sha256": self.sha256, "file_name": self.file_name,
                "mime_type": self.mime_type, "caption": self.caption}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> "OutFile":
        return cls(kind=data["kind"], sha256=data["sha256"], file_name=data["file_name"],
                   mime_type=data["mime_type"], caption=data.get("caption"))


@dataclass(frozen=True)
class Reply:
    """One outgoing message: text, rows of buttons, at most one share request, and files sent
    after the text (a reply with files may have empty text)."""

    text: str
    buttons: tuple[tuple[Choice, ...], ...] = ()
    share: ShareRequest | None = None
    files: tuple[OutFile, ...] = ()

    def to_payload(self) -> dict[str, Any]:
        """Plain data for the outbox row (what `asdict` gives, without its deep copies: a
        sweep serialises thousands of these). "files" only when there are some, so rows
        stay as they were for replies without files."""
        share = {"kind": self.share.kind, "label": self.share.label} if self.share else None
        buttons = [[{"label": choice.label, "data": choice.data} for choice in row] for row in self.buttons]
        payload: dict[str, Any] = {"text": self.text, "buttons": buttons, "share": share}
        if self.files:
            payload["files"] = [file.to_payload() for file in self.files]
        return payload

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> "Reply":
        """Also reads rows stored before replies had files (no "files" key)."""
        buttons = tuple(tuple(Choice(**c) for c in row) for row in data.get("buttons", ()))
        share = ShareRequest(**data["share"]) if data.get("share") else None
        files = tuple(OutFile.from_payload(f) for f in data.get("files") or ())
        return cls(text=data["text"], buttons=buttons, share=share, files=files)


@dataclass(frozen=True)
class Outgoing:
    """A reply addressed to a chat on a channel; becomes one outbox row."""

    channel: str
    chat_id: str
    reply: Reply
    dedupe_key: str | None = None
    ephemeral: bool = False  # pre-consent: payload is scrubbed once sent
    urgent: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    # UTC; not sent before this (quiet hours). A later one than now is never sent directly.
    not_before: datetime | None = None

    def held_at(self, now: datetime) -> bool:
        """Whether the message must wait past `now`: it then goes through the outbox sweep."""
        return self.not_before is not None and self.not_before > now

    def due_at(self, now: datetime) -> datetime:
        """When the outbox row is first due: now, or `not_before` if that is later."""
        return now if self.not_before is None else max(now, self.not_before)
