"""Files in the web chat's replies: signed download links, and the route that serves them.

A browser's chat is identified by the random client id it keeps in localStorage and sends as
the WebSocket's `?client=`; that id is the chat's only credential. A link to a file must not
carry it (links get copied and shared), and a bare hash must not be enough either (anyone
could ask for the hash of a known report). So:

  * the link names the blob and carries an HMAC-SHA256 of (chat id, sha256) under a server key
    (HOAGIAI_WEB_FILE_SECRET, else a random key per process): only the server can make one;
  * the download must come with the chat's id in a cookie that the page sets for /chat/files
    only (SameSite=Strict, so no other site's page can use it);
  * the blob is served when the link's signature is the one for the cookie's chat: a link sent
    to one chat is useless in another browser, and a forged or altered link is refused.

Responses keep the file from acting as a page of this site: the stored MIME type, nosniff, a
sandboxing CSP, and `attachment` for anything but plain raster images.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from bot.web.chat_protocol import valid_id
from handlers.ports import BlobReader

FILES_PATH = "/chat/files"
CHAT_COOKIE = "hoagiai_chat"
SHA256_RE = re.compile(r"[0-9a-f]{64}")
# Shown in the page (img); anything else downloads. SVG is not here: it can carry script.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
MAX_NAME_CHARS = 200
# RFC 5987 attr-char besides letters and digits: what may stay unescaped in filename*.
ATTR_CHARS = "!#$&+-.^_`|~"
_KEY_CONTEXT = b"hoagiai web chat file link\n"
FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, max-age=86400",  # by content: the bytes under a hash never change
    "Vary": "Cookie",
}


class FileLinks:
    """Makes and checks the download links of one deployment; every worker needs the same key."""

    def __init__(self, secret: bytes | None = None) -> None:
        self.ephemeral = not secret
        self._key = secret or secrets.token_bytes(32)

    def signature(self, chat_id: str, sha256: str) -> str:
        message = _KEY_CONTEXT + f"{chat_id}\n{sha256}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def check(self, chat_id: str, sha256: str, signature: str) -> bool:
        return hmac.compare_digest(self.signature(chat_id, sha256), signature)

    def url(self, chat_id: str, sha256: str, file_name: str) -> str:
        query = urlencode({"name": file_name, "sig": self.signature(chat_id, sha256)}, quote_via=quote)
        return f"{FILES_PATH}/{sha256}?{query}"


def reply_frame(payload: dict[str, Any], chat_id: str, links: FileLinks) -> dict[str, Any]:
    """The stored reply as the browser gets it: each file with its link for this chat."""
    files = payload.get("files")
    if not files:
        return payload
    return {**payload, "files": [browser_file(file, chat_id, links) for file in files]}


def browser_file(file: dict[str, Any], chat_id: str, links: FileLinks) -> dict[str, Any]:
    name = clean_name(file.get("file_name")) or "file"
    return {"kind": file["kind"], "name": name, "mime": file.get("mime_type"),
            "caption": file.get("caption"), "url": links.url(chat_id, file["sha256"], name)}


def clean_name(value: object) -> str:
    """A file name fit for a header and a page: NFC, no path, no control characters, bounded."""
    if not isinstance(value, str):
        return ""
    name = unicodedata.normalize("NFC", value).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    return name.strip()[:MAX_NAME_CHARS]


def ascii_name(name: str) -> str:
    """The fallback `filename=` for old clients: Vietnamese without diacritics (đ -> d)."""
    decomposed = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(ch if " " <= ch <= "~" and ch not in '"\\%' else "_" for ch in plain).strip() or "file"


def content_disposition(disposition: str, name: str) -> str:
    """RFC 6266 with the UTF-8 name as RFC 5987 `filename*` (browsers prefer it) and an ASCII
    `filename` for the rest."""
    encoded = quote(name, safe=ATTR_CHARS)
    return f"{disposition}; filename=\"{ascii_name(name)}\"; filename*=UTF-8''{encoded}"


def file_route(links: FileLinks, read_blob: BlobReader | None) -> web.RouteDef:
    """GET /chat/files/<sha256>?name=…&sig=…, with the chat's cookie."""

    async def download(request: web.Request) -> web.Response:
        sha256 = request.match_info["sha256"]
        if not SHA256_RE.fullmatch(sha256):
            raise web.HTTPNotFound()
        chat_id = request.cookies.get(CHAT_COOKIE, "")
        if not valid_id(chat_id) or not links.check(chat_id, sha256, request.query.get("sig", "")):
            raise web.HTTPForbidden(text="this link is not for this chat")
        blob = await read_blob(sha256) if read_blob is not None else None
        if blob is None:
            raise web.HTTPNotFound(text="this file is no longer available")
        data, mime_type = blob
        name = clean_name(request.query.get("name")) or "file"
        disposition = "inline" if mime_type in INLINE_TYPES else "attachment"
        headers = {**FILE_HEADERS, "Content-Type": mime_type or "application/octet-stream",
                   "Content-Disposition": content_disposition(disposition, name)}
        return web.Response(body=data, headers=headers)

    return web.get(FILES_PATH + "/{sha256}", download)
