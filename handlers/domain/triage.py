"""Is a new report urgent? A keyword check that decides whether the officers are alerted at once.

The law asks for a risk of violence to be reported the same day (Luật Hòa giải ở cơ sở,
Điều 10.4-10.5, 15.4), so a report is urgent when the resident says someone is in danger now,
or when the description speaks of weapons, fighting, threats, injuries, crowds, fire,
kidnapping or suicide. This is a first filter, not a classifier: officers still read every case.

How matching works, and why:
- Residents often type without diacritics ("danh nhau"), so phrases are compared on `fold()`ed
  text, word by word (no match inside a longer word).
- Folding makes different words look alike: "dao" is a knife but also "đạo", "dạo" (lately),
  "đào"; "cháy" (fire) becomes "chay" like "chạy" (to run); "vây" (surround) becomes "vay"
  (borrow). So the lists use phrases that stay unambiguous when folded ("cầm dao", "cháy nhà").
- A few words are only unambiguous with their diacritics ("tự tử" folds to "tu tu", which is
  also "từ từ", slowly). They are in the `*_WITH_DIACRITICS` lists and must be typed as written.
- A phrase right after a negation ("không có ai bị thương", "chưa đánh nhau") does not count.
  Punctuation ends a clause, so "Không, họ đang đánh nhau" is still urgent. The negation words
  must be typed either with their diacritics or with none: "chùa" (pagoda) is not "chưa".

To extend: add a phrase, as written in Vietnamese, to the category's tuple. Prefer two or more
words; check that its folded form is not an everyday phrase; add a test case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.text import fold, nfc

DANGER_NOW = "danger_now"

WEAPON = (
    "cầm dao", "vác dao", "rút dao", "mang dao", "vung dao", "kề dao", "cầm theo dao",
    "mang theo dao", "dao phay", "dao găm", "dao nhọn", "dao bầu", "dao chặt", "dao rựa",
    "dao kiếm", "vác rựa", "mã tấu", "cầm kiếm", "vác kiếm", "kiếm nhật",
    "cầm súng", "rút súng", "nổ súng", "bắn súng", "súng săn", "súng tự chế", "súng ngắn",
    "súng hoa cải", "gậy gộc", "vác gậy", "gậy sắt", "tuýp sắt", "ống tuýp", "côn nhị khúc",
    "xà beng", "hung khí", "axit", "a xít", "acid", "lựu đạn",
)
WEAPON_WITH_DIACRITICS = ("súng",)

VIOLENCE = (
    "đánh nhau", "hành hung", "ẩu đả", "xô xát", "đấm đá", "đâm nhau", "bị đâm", "đâm chết",
    "đâm chém", "chém nhau", "bị chém", "chém người", "chém chết", "đánh người", "đánh đập",
    "đánh chết", "đánh hội đồng", "đánh ghen", "đánh vợ", "đập phá", "bóp cổ", "bị bạo hành",
)

THREAT = (
    "đe dọa", "hăm dọa", "dọa giết", "dọa đánh", "dọa chém", "dọa đâm", "dọa đốt", "dọa tạt",
    "đòi giết", "đòi chém", "khủng bố", "giết chết", "giết cả nhà", "giết mày", "sẽ giết",
    "bắn chết",
)

INJURY = (
    "chảy máu", "đổ máu", "bê bết máu", "toé máu", "bị thương", "trọng thương", "thương tích",
    "nhập viện", "cấp cứu", "gãy tay", "gãy chân", "bất tỉnh", "tử vong", "chết người",
)

CROWD = (
    "tụ tập đông người", "kéo đến đông", "kéo tới đông", "kéo quân", "hỗn chiến",
    "gây rối trật tự", "gây rối an ninh", "quậy phá", "bao vây nhà", "vây kín", "vây đánh",
    "vây quanh nhà",
)

FIRE = (
    "đốt nhà", "đốt xe", "đốt cháy", "phóng hỏa", "cháy nhà", "bốc cháy", "cháy lan",
    "hỏa hoạn", "tưới xăng", "chai xăng", "phát nổ", "nổ tung", "nổ bình gas", "nổ bình ga",
)

ABDUCTION = (
    "bắt cóc", "giữ người", "làm con tin", "nhốt người", "bị nhốt", "bắt nhốt", "giam giữ",
)

SELF_HARM = (
    "dọa tự tử", "đòi tự tử", "uống thuốc sâu", "uống thuốc chuột", "nhảy lầu", "rạch tay",
    "không muốn sống nữa",
)
SELF_HARM_WITH_DIACRITICS = ("tự tử", "tự sát", "tự vẫn", "treo cổ")

# (reason code, phrases compared folded, phrases that must be typed with their diacritics),
# in the order reasons are listed. The codes are message keys "urgency.<code>" in locales/.
CATEGORIES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("weapon", WEAPON, WEAPON_WITH_DIACRITICS),
    ("violence", VIOLENCE, ()),
    ("threat", THREAT, ()),
    ("injury", INJURY, ()),
    ("crowd", CROWD, ()),
    ("fire", FIRE, ()),
    ("abduction", ABDUCTION, ()),
    ("self_harm", SELF_HARM, SELF_HARM_WITH_DIACRITICS),
)

NEGATIONS = ("không", "chưa", "chẳng", "ko", "k")
# Words that may stand between a negation and what it denies: "không có ai | bị thương".
NEGATION_FILLERS = ("có", "ai", "người", "nào", "bị", "hề")
MAX_FILLERS = 3

# Punctuation that ends a clause; a negation does not reach past it.
_CLAUSE_END = re.compile(r"[.,;:!?…\n()\[\]]+")
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Urgency:
    urgent: bool
    reasons: tuple[str, ...]


def assess_urgency(text: str, danger_now: bool) -> Urgency:
    """Whether a report needs the officers now, and why (reason codes, in `CATEGORIES` order)."""
    clauses = [_words(clause) for clause in _CLAUSE_END.split(nfc(text).lower())]
    reasons = [DANGER_NOW] if danger_now else []
    for code, folded_pattern, exact_pattern in _PATTERNS:
        for typed in clauses:
            folded = [fold(word) for word in typed]
            if _mentions(folded_pattern, folded, typed) or _mentions(exact_pattern, typed, typed):
                reasons.append(code)
                break
    return Urgency(urgent=bool(reasons), reasons=tuple(reasons))


def _words(clause: str) -> list[str]:
    """The words of a lower-case clause, as typed; emoji and punctuation separate words."""
    return _WORD.findall(clause)


def _pattern(phrases: tuple[str, ...], folded: bool) -> re.Pattern[str] | None:
    """One regex for a list of phrases, matching whole words only, longest phrase first."""
    keys = {fold(p) if folded else " ".join(_words(nfc(p).lower())) for p in phrases}
    if not keys:
        return None
    alternatives = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
    return re.compile(rf"(?<!\S)(?:{alternatives})(?!\S)")


def _mentions(pattern: re.Pattern[str] | None, words: list[str], typed: list[str]) -> bool:
    """Whether `words` (one clause) contain a phrase of `pattern` that is not negated."""
    if pattern is None:
        return False
    line = " ".join(words)
    for match in pattern.finditer(line):
        start = line.count(" ", 0, match.start())
        if not _negated(typed[:start]):
            return True
    return False


def _negated(before: list[str]) -> bool:
    """Whether the words just before a match deny it ("chưa", "không có ai", "không hề")."""
    for word in reversed(before[-(MAX_FILLERS + 1):]):
        if _is_one_of(word, NEGATIONS):
            return True
        if not _is_one_of(word, NEGATION_FILLERS):
            return False
    return False


def _is_one_of(typed: str, words: tuple[str, ...]) -> bool:
    """`typed` is one of `words`, written with its diacritics or with none ("chưa", "chua", not "chùa")."""
    if typed in words:
        return True
    return typed == fold(typed) and typed in {fold(w) for w in words}


_PATTERNS = tuple((code, _pattern(folded, True), _pattern(exact, False)) for code, folded, exact in CATEGORIES)
