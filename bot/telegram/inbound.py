"""Telegram `Update` -> neutral `Inbound`.

Files are downloaded here so the core gets a content hash; a download that fails for a
transient reason raises, and the update is then not confirmed and comes back later.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

from telegram import Bot, CallbackQuery, Message, PhotoSize, Update, User
from telegram.constants import ChatType as TgChatType
from telegram.error import BadRequest

from handlers.messages import ChatType, FileKind, FileRef, Inbound, Location, UserRef

log = logging.getLogger("hoagiai.telegram.inbound")

PLATFORM = "telegram"
PHOTO_MIME = "image/jpeg"  # Telegram re-encodes every photo as JPEG
# Content the bot cannot use, checked before photo/document: an animation also carries a
# `document`, and a live photo may carry a `photo`.
UNSUPPORTED_KINDS = (
    "animation", "live_photo", "sticker", "voice", "audio", "video", "video_note", "poll", "dice",
    "game", "story", "invoice", "paid_media", "passport_data", "successful_payment",
)


async def to_inbound(update: Update, *, bot: Bot, bot_id: str, max_file_bytes: int) -> Inbound | None:
    """The update as an `Inbound`, or None when it carries no user message (it is just confirmed)."""
    if update.callback_query is not None:
        return _from_callback(update, update.callback_query, bot_id)
    if update.message is not None:
        return await _from_message(update, update.message, bot=bot, bot_id=bot_id, max_file_bytes=max_file_bytes)
    return None


def _base(update: Update, bot_id: str) -> dict | None:
    """The fields every Inbound has, or None without a user and a chat (e.g. channel posts)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    chat_type: ChatType = "private" if chat.type == TgChatType.PRIVATE else "group"
    return {
        "platform": PLATFORM, "bot_id": bot_id, "update_id": str(update.update_id),
        "user": _user_ref(user), "chat_id": str(chat.id), "chat_type": chat_type,
    }


def _user_ref(user: User) -> UserRef:
    return UserRef(PLATFORM, str(user.id), user.full_name or None, user.language_code)


def _from_callback(update: Update, query: CallbackQuery, bot_id: str) -> Inbound | None:
    """A button press; game and inline-mode callbacks (no data or no chat) are not ours."""
    base = _base(update, bot_id)
    if base is None or query.data is None:
        return None
    return Inbound(**base, callback=query.data)


async def _from_message(update: Update, message: Message, *, bot: Bot, bot_id: str, max_file_bytes: int) -> Inbound | None:
    base = _base(update, bot_id)
    if base is None:
        return None
    fields = await _content(message, update.effective_user, bot=bot, max_file_bytes=max_file_bytes)
    if fields is None:
        # A service message (someone joined, a title changed ...): nothing a person said.
        return None
    text = message.text if message.text is not None else message.caption
    return Inbound(**base, text=text, received_at=message.date, **fields)


async def _content(message: Message, sender: User | None, *, bot: Bot, max_file_bytes: int) -> dict | None:
    """What the message carries besides text, as Inbound fields; None for a service message."""
    for kind in UNSUPPORTED_KINDS:
        if getattr(message, kind, None):
            return {"unsupported": kind}
    if message.photo:
        return await _file_fields(bot, "photo", _largest(message.photo), max_file_bytes, PHOTO_MIME, None)
    if message.document:
        doc = message.document
        return await _file_fields(bot, "document", doc, max_file_bytes, doc.mime_type, doc.file_name)
    if message.location:
        return {"location": Location(message.location.latitude, message.location.longitude)}
    if message.contact:
        own = sender is not None and message.contact.user_id == sender.id
        return {"phone": message.contact.phone_number} if own else {"unsupported": "foreign_contact"}
    if message.text is not None or message.caption is not None:
        return {}
    return None


def _largest(sizes: Sequence[PhotoSize]) -> PhotoSize:
    return max(sizes, key=lambda size: (size.width * size.height, size.file_size or 0))


async def _file_fields(bot: Bot, kind: FileKind, media, max_bytes: int, mime: str | None, name: str | None) -> dict:
    """`files=(FileRef,)`, or `unsupported` when the file is too big or gone."""
    if media.file_size and media.file_size > max_bytes:
        return {"unsupported": "file_too_large"}
    data = await _download(bot, media.file_id, max_bytes)
    if isinstance(data, str):
        return {"unsupported": data}
    ref = FileRef(kind=kind, file_id=media.file_id, sha256=hashlib.sha256(data).hexdigest(),
                  size=len(data), mime_type=mime, file_name=name, data=data)
    return {"files": (ref,)}


async def _download(bot: Bot, file_id: str, max_bytes: int) -> bytes | str:
    """The file's bytes, or the reason it cannot be had. Network errors propagate (retry later)."""
    try:
        tg_file = await bot.get_file(file_id)
    except BadRequest as error:  # Telegram's answer will not change on retry
        too_big = "too big" in error.message.lower()
        log.info("file not downloadable reason=%s", error.message)
        return "file_too_large" if too_big else "file_unavailable"
    if tg_file.file_size and tg_file.file_size > max_bytes:
        return "file_too_large"
    data = bytes(await tg_file.download_as_bytearray())
    return "file_too_large" if len(data) > max_bytes else data
