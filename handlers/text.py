"""Text helpers for what residents type: normalised storage and diacritic-free matching.

Vietnamese arrives in many shapes: precomposed or decomposed (NFD, from some phones and
copy-pastes), with or without diacritics, in upper case, with emoji and stray punctuation.
Stored text is kept as typed but normalised (`clean_text`); matching goes through `fold`.
"""

from __future__ import annotations

import re
import unicodedata

# Blank lines beyond this many in a row are collapsed (a message is read on a phone).
MAX_BLANK_LINES = 2

_LINE_BREAKS = re.compile(r"\r\n|\r|\u2028|\u2029")
_TOO_MANY_BLANK_LINES = re.compile(r"\n(?:[^\S\n]*\n){%d,}" % (MAX_BLANK_LINES + 1))


def nfc(text: str) -> str:
    """Unicode NFC, so that "ế" typed precomposed and decomposed compare and store the same."""
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """A matching key: lower case, no diacritics (đ -> d), punctuation and symbols as spaces.

    Many residents type without diacritics ("danh nhau" for "đánh nhau"), so matching compares
    folded forms. Symbols (emoji, "&", "+") count as punctuation: they separate words and
    never carry meaning for matching. Invisible format characters (soft hyphen, zero-width
    space) are dropped so they do not split a word.
    """
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", nfc(text).lower()):
        category = unicodedata.category(ch)
        if category in ("Mn", "Cf"):
            continue
        if ch == "đ":
            out.append("d")
        elif category[0] in "PSC":
            out.append(" ")
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def has_letters_or_digits(text: str) -> bool:
    """Whether the text has any word in it; a row of emoji or "..." is not a description."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


def clean_text(text: str) -> str:
    """Typed text as it is stored and shown to officers: NFC, no control characters, trimmed.

    Newlines are kept (residents write in paragraphs); tabs become spaces; other control
    characters (NUL, escape sequences pasted from elsewhere) are removed; runs of more than
    `MAX_BLANK_LINES` blank lines are shortened to that many.
    """
    text = _LINE_BREAKS.sub("\n", nfc(text)).replace("\t", " ")
    text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) != "Cc")
    text = _TOO_MANY_BLANK_LINES.sub("\n" * (MAX_BLANK_LINES + 1), text)
    return text.strip()
