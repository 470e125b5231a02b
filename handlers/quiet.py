"""Quiet hours: when an unasked, non-urgent message to a resident or leader may go out.

Residents and neighbourhood leaders are not woken at night for news that can wait until the
morning (by default 21:00–07:00 in the ward's zone). Urgent alerts are never held, and neither
are replies to what someone just wrote: they are awake, talking to the bot.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from handlers.services import CoreConfig


def not_before(config: CoreConfig, now: datetime, *, urgent: bool = False) -> datetime | None:
    """None when the message may go now (urgent, or outside quiet hours); else the end of the
    quiet period in UTC, reckoned in `config.timezone`. Goes into `Outgoing.not_before`."""
    if urgent:
        return None
    allowed = config.quiet_hours.next_allowed(now, config.timezone)
    return allowed if allowed > now else None
