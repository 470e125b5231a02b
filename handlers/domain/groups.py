"""Matching what a resident types ("to 5", "tổ dân phố số 5", "TDP5") to the ward's groups."""

from __future__ import annotations

import re

from handlers.domain.model import Unit
from handlers.text import fold

# Words that name the kind of group, folded; what is left is the group's own name or number.
GROUP_WORDS = ("to dan pho", "khu dan cu", "khu pho", "tdp", "kdc", "thon", "ap", "ban", "to", "so", "khu", "xom")
_GROUP_WORDS_RE = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in GROUP_WORDS) + r")\b")
_GLUED_NUMBER_RE = re.compile(r"([a-z])(\d)")


def group_key(text: str) -> str:
    """The distinctive part of a group name: folded, kind words removed ("tổ dân phố số 05" -> "5")."""
    folded = _GLUED_NUMBER_RE.sub(r"\1 \2", fold(text))
    rest = _GROUP_WORDS_RE.sub(" ", folded)
    rest = re.sub(r"\b0+(\d)", r"\1", rest)
    return " ".join(rest.split())


def match_groups(text: str, groups: list[Unit]) -> list[Unit]:
    """Groups whose key equals the typed key; else those whose folded name contains it."""
    wanted = group_key(text)
    if not wanted:
        return []
    exact = [g for g in groups if group_key(g.name) == wanted]
    if exact:
        return exact
    folded = fold(text)
    return [g for g in groups if wanted in group_key(g.name).split() or folded in fold(g.name)]
