"""Test doubles for the platforms at the edge (a fake Telegram Bot API server, ...)."""

from tests.fakes.fake_telegram import ApiError, FakeTelegram

__all__ = ["ApiError", "FakeTelegram"]
