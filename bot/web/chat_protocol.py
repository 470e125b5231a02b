"""The web chat's wire format: what a browser may send, checked field by field.

A browser is untrusted input, so every frame is validated here before the core sees it; a bad
frame becomes a `Rejected` with a catalog key, never an exception the socket dies of.

Client → server, one JSON object per WebSocket text frame, `id` unique per message:

    {"id": "…", "type": "text",     "text": "…"}
    {"id": "…", "type": "callback", "callback": "<button data>"}
    {"id": "…", "type": "location", "location": {"latitude": 21.03, "longitude": 105.85}}
    {"id": "…", "type": "phone",    "phone": "0912 345 678"}
    {"id": "…", "type": "file",     "file": {"kind": "photo"|"document", "name": "…",
                                             "mime": "image/jpeg", "data": "<base64>"}}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from handlers.messages import MAX_CALLBACK_BYTES, FileRef, Inbound, Location, UserRef

PLATFORM = "web"
BOT_ID = "web"
MESSAGE_TYPES = ("text", "callback", "location", "phone", "file")
ID_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")
MIME_RE = re.compile(r"[A-Za-z0-9][\w.+-]*/[\w.+-]+")
MAX_PHONE_CHARS = 40
MAX_FILE_NAME_CHARS = 200
MAX_MIME_CHARS = 100


class Rejected(Exception):
    """A client message the bot will not take; `key` is the web catalog's explanation."""

    def __init__(self, key: str, message_id: str | None = None, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.message_id = message_id
        self.params = params


@dataclass(frozen=True)
class Upload:
    """A decoded file from the browser, not yet stored."""

    kind: str
    name: str | None
    mime: str | None
    data: bytes


@dataclass(frozen=True)
class ClientMessage:
    """One validated client message; exactly one content field is set, as named by `type`."""

    id: str
    type: str
    text: str | None = None
    callback: str | None = None
    location: Location | None = None
    phone: str | None = None
    upload: Upload | None = None


def frame_limit(max_upload_bytes: int) -> int:
    """Largest WebSocket frame accepted: a base64 upload of the allowed size plus 1 MiB of slack.

    With the default 10 MiB uploads this is about 15 MiB; anything larger closes the socket.
    """
    return 4 * math.ceil(max_upload_bytes / 3) + 1024 * 1024


def valid_id(value: object) -> bool:
    return isinstance(value, str) and ID_RE.fullmatch(value) is not None


def parse_message(raw: str, max_upload_bytes: int) -> ClientMessage:
    """The validated message in a text frame; raises Rejected with the reason."""
    try:
        data = json.loads(raw)
    except ValueError:
        raise Rejected("web.error.bad_json") from None
    if not isinstance(data, dict):
        raise Rejected("web.error.bad_json")
    message_id = data.get("id")
    if not valid_id(message_id):
        raise Rejected("web.error.bad_message")
    kind = data.get("type")
    if kind not in MESSAGE_TYPES:
        raise Rejected("web.error.bad_message", message_id)
    return _PARSERS[kind](message_id, data.get(kind), max_upload_bytes)


def _text(message_id: str, value: Any, _: int) -> ClientMessage:
    """Any string; the core explains when it is too long, so length is not checked here."""
    if not isinstance(value, str):
        raise Rejected("web.error.bad_message", message_id)
    return ClientMessage(message_id, "text", text=unicodedata.normalize("NFC", value))


def _callback(message_id: str, value: Any, _: int) -> ClientMessage:
    if not isinstance(value, str) or not value or len(value.encode("utf-8")) > MAX_CALLBACK_BYTES:
        raise Rejected("web.error.bad_message", message_id)
    return ClientMessage(message_id, "callback", callback=value)


def _location(message_id: str, value: Any, _: int) -> ClientMessage:
    if not isinstance(value, dict):
        raise Rejected("web.error.bad_message", message_id)
    latitude, longitude = _coordinate(value.get("latitude"), 90), _coordinate(value.get("longitude"), 180)
    if latitude is None or longitude is None:
        raise Rejected("web.error.bad_location", message_id)
    return ClientMessage(message_id, "location", location=Location(latitude, longitude))


def _coordinate(value: Any, bound: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) and -bound <= number <= bound else None


def _phone(message_id: str, value: Any, _: int) -> ClientMessage:
    """Only the shape is checked; the form decides whether it is a usable Vietnamese number."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_PHONE_CHARS:
        raise Rejected("web.error.bad_message", message_id)
    return ClientMessage(message_id, "phone", phone=value.strip())


def _file(message_id: str, value: Any, max_upload_bytes: int) -> ClientMessage:
    if not isinstance(value, dict) or not isinstance(value.get("data"), str):
        raise Rejected("web.error.bad_message", message_id)
    encoded: str = value["data"]
    max_mb = _megabytes(max_upload_bytes)
    if len(encoded) > 4 * math.ceil(max_upload_bytes / 3):
        size = _megabytes(len(encoded) * 3 // 4)
        raise Rejected("web.error.file_too_large", message_id, size=size, max=max_mb)
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise Rejected("web.error.bad_file", message_id) from None
    if not data:
        raise Rejected("web.error.bad_file", message_id)
    if len(data) > max_upload_bytes:
        raise Rejected("web.error.file_too_large", message_id, size=_megabytes(len(data)), max=max_mb)
    mime = _mime(value.get("mime"))
    kind = _file_kind(value.get("kind"), mime)
    upload = Upload(kind=kind, name=_file_name(value.get("name")), mime=mime, data=data)
    return ClientMessage(message_id, "file", upload=upload)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".")


def _mime(value: Any) -> str | None:
    if isinstance(value, str) and len(value) <= MAX_MIME_CHARS and MIME_RE.fullmatch(value):
        return value.lower()
    return None


def _file_kind(value: Any, mime: str | None) -> str:
    """A photo only when it claims to be one and its type is an image; else a document."""
    is_image = mime is not None and mime.startswith("image/")
    if value == "photo" and (is_image or mime is None):
        return "photo"
    return "document"


def _file_name(value: Any) -> str | None:
    """The name as shown to officers: no path, no control characters, bounded length."""
    if not isinstance(value, str):
        return None
    name = value.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    return name.strip()[:MAX_FILE_NAME_CHARS] or None


_PARSERS = {"text": _text, "callback": _callback, "location": _location, "phone": _phone, "file": _file}


def store_upload(upload_dir: Path, data: bytes) -> str:
    """Writes `data` to `upload_dir/<sha256>` once (atomic rename) and returns the hash.

    Content addressing makes a re-sent file (same message after a reconnect) cost nothing.
    Blocking: call it in a thread.
    """
    digest = hashlib.sha256(data).hexdigest()
    target = upload_dir / digest
    if target.exists():
        return digest
    upload_dir.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=upload_dir, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return digest


def file_ref(upload: Upload, digest: str) -> FileRef:
    return FileRef(kind=upload.kind, file_id=f"web:{digest}", sha256=digest, size=len(upload.data),  # type: ignore[arg-type]
                   mime_type=upload.mime, file_name=upload.name, data=upload.data)


def update_id(chat_id: str, message_id: str) -> str:
    """Scoped by client, so one browser cannot collide with (or suppress) another's messages."""
    return f"{chat_id}:{message_id}"


def to_inbound(
    message: ClientMessage, chat_id: str, lang: str, files: tuple[FileRef, ...] = (),
    received_at: datetime | None = None,
) -> Inbound:
    """The neutral message; the client id is both the user and the chat."""
    return Inbound(
        platform=PLATFORM, bot_id=BOT_ID, update_id=update_id(chat_id, message.id),
        user=UserRef(PLATFORM, chat_id, None, lang), chat_id=chat_id,
        text=message.text, callback=message.callback, location=message.location,
        phone=message.phone, files=files, received_at=received_at,
    )
