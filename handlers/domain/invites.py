"""One-time invite codes: made here, stored only as a hash, checked when redeemed."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

from handlers.domain.model import Invite

# Telegram's deep-link payload allows A-Z, a-z, 0-9, "_" and "-" (at most 64 characters).
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{12,64}$")


def new_code() -> str:
    """72 random bits, 12 URL-safe characters: fits a `t.me/<bot>?start=<code>` link."""
    return secrets.token_urlsafe(9)


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def looks_like_code(text: str) -> bool:
    return bool(CODE_PATTERN.match(text.strip()))


def problem(invite: Invite | None, now: datetime) -> str | None:
    """The catalog key saying why the invite cannot be used, or None when it can."""
    if invite is None:
        return "invite.unknown"
    if invite.revoked_at is not None:
        return "invite.revoked"
    if invite.used_at is not None:
        return "invite.used"
    if invite.expires_at <= now:
        return "invite.expired"
    return None
