"""Translations from the gettext catalogs under `locales/` (Vietnamese first, English second).

Message ids are keys (`form.step`), so every language is a translation and a test can check
that each key exists in each catalog with the same placeholders. Every `*.po` file of a
language is read, so a part of the product may keep its own catalog.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

DEFAULT_LANGUAGE = "vi"
LANGUAGES = ("vi", "en")
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"

log = logging.getLogger(__name__)


def load_catalog(lang: str, locales_dir: Path = LOCALES_DIR) -> dict[str, str]:
    """All messages of `lang` from every `.po` file in its LC_MESSAGES folder."""
    messages: dict[str, str] = {}
    for po_path in sorted((locales_dir / lang / "LC_MESSAGES").glob("*.po")):
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        for message in catalog:
            if message.id and message.string and not message.fuzzy:
                messages[str(message.id)] = str(message.string)
    return messages


class CatalogTranslator:
    """Looks a key up in the user's language, falling back to Vietnamese, then to the key."""

    languages = LANGUAGES

    def __init__(self, locales_dir: Path = LOCALES_DIR) -> None:
        self.catalogs = {lang: load_catalog(lang, locales_dir) for lang in LANGUAGES}

    def __call__(self, key: str, lang: str, /, **params: Any) -> str:
        catalog = self.catalogs.get(lang) or self.catalogs[DEFAULT_LANGUAGE]
        template = catalog.get(key) or self.catalogs[DEFAULT_LANGUAGE].get(key)
        if template is None:
            log.error("missing message key=%s lang=%s", key, lang)
            return key
        return template.format(**params) if params else template


def normalise_language(code: str | None) -> str:
    """Map a platform's language code (`en-US`) onto a supported language."""
    if code:
        short = code.split("-")[0].lower()
        if short in LANGUAGES:
            return short
    return DEFAULT_LANGUAGE
