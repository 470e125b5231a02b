"""Telegram's send limits (Bots FAQ, "My bot is hitting limits, how do I avoid this?").

About 30 messages a second in all, one a second in a chat, 20 a minute in a group. A 429 with
`retry_after` is flood control for the bot as a whole, so every send waits it out, not only
the chat that got it (PTB's AIORateLimiter does the same).
"""

from __future__ import annotations

from handlers.ports import ChannelLimits

TELEGRAM_LIMITS = ChannelLimits(
    overall_per_second=30, per_chat_per_second=1, per_group_per_minute=20, hold_channel_on_retry=True,
)


def is_group_chat(chat_id: str) -> bool:
    """Group, supergroup and channel ids are negative on Telegram; users' private chats are not."""
    return chat_id.startswith("-")
