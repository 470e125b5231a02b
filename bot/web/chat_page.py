"""The web chat page, rendered on the server in the visitor's language.

Strings come from the `web.*` keys of the gettext catalogs, so the page and the bot are
translated the same way and a test can keep both languages complete. The page needs no build
step and loads nothing from other sites.
"""

from __future__ import annotations

import html
import json
from functools import lru_cache
from pathlib import Path
from string import Template

from aiohttp import web

from bot.web.chat_files import CHAT_COOKIE, FILES_PATH
from handlers.i18n import DEFAULT_LANGUAGE, LANGUAGES
from handlers.ports import Translator

WEB_DIR = Path(__file__).resolve().parent
TEMPLATE_PATH = WEB_DIR / "templates" / "chat.html"
STATIC_DIR = WEB_DIR / "static"

# Keys the script needs at run time; the template's own keys are filled in below.
SCRIPT_KEYS = (
    "web.send", "web.placeholder", "web.attach", "web.share_location", "web.share_phone",
    "web.phone_prompt", "web.phone_bubble", "web.locating", "web.location_failed",
    "web.location_bubble", "web.file_bubble", "web.file_too_large", "web.file_read_failed",
    "web.connecting", "web.connection_lost", "web.connection_restored", "web.status.pending",
    "web.status.sent", "web.status.failed", "web.you", "web.bot", "web.download", "web.file_unavailable",
)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def pick_language(request: web.Request) -> str:
    """`?lang=` first, then the browser's Accept-Language, else Vietnamese."""
    wanted = request.query.get("lang", "").strip().lower()
    if wanted in LANGUAGES:
        return wanted
    return language_from_header(request.headers.get("Accept-Language", ""))


def language_from_header(header: str) -> str:
    """The supported language the browser prefers most ("en-US,en;q=0.9,vi;q=0.8" -> "en")."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        short = tag.strip().split("-")[0].lower()
        if short in LANGUAGES and quality > 0:
            ranked.append((-quality, position, short))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


@lru_cache(maxsize=1)
def _template() -> Template:
    return Template(TEMPLATE_PATH.read_text(encoding="utf-8"))


def script_json(value: object) -> str:
    """JSON that is safe inside a <script> element (no `</script>` can end it early)."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def render_page(translate: Translator, lang: str, *, max_upload_bytes: int, ws_path: str) -> str:
    """The page's HTML with every visible string in `lang`."""
    other = next(code for code in LANGUAGES if code != lang)
    config = {
        "lang": lang,
        "wsPath": ws_path,
        "maxUploadBytes": max_upload_bytes,
        "filesPath": FILES_PATH,  # downloads prove the chat with this cookie (bot/web/chat_files.py)
        "filesCookie": CHAT_COOKIE,
        "strings": {key: translate(key, lang) for key in SCRIPT_KEYS},
    }
    text = {
        "title": translate("web.title", lang),
        "subtitle": translate("web.subtitle", lang),
        "placeholder": translate("web.placeholder", lang),
        "send": translate("web.send", lang),
        "attach": translate("web.attach", lang),
        "log_label": translate("web.log_label", lang),
        "connecting": translate("web.connecting", lang),
        "noscript": translate("web.noscript", lang),
        "other_lang_name": translate(f"web.language.{other}", lang),
    }
    values = {name: html.escape(value) for name, value in text.items()}
    values.update(lang=lang, other_lang=other, config=script_json(config))
    return _template().substitute(values)


def page_response(body: str) -> web.Response:
    return web.Response(text=body, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS)
