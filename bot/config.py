"""Settings from the environment (`HOAGIAI_` prefix) or a `.env` file; defaults run the demo."""

from __future__ import annotations

import re
import socket
from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from handlers.domain.calendar import QuietHours

DEFAULT_TELEGRAM_API = "https://api.telegram.org/bot"
QUIET_OFF = "off"
QUIET_PERIOD = re.compile(r"^(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})$")
NO_QUIET_HOURS = QuietHours(start=time(0, 0), end=time(0, 0))


def parse_quiet_hours(text: str) -> QuietHours:
    """"21:00-07:00" (local time, may cross midnight), or "off"/"" for none. An operator's typo
    must stop the start, not silently send at night or hold every notice."""
    text = text.strip()
    if text.lower() in ("", QUIET_OFF):
        return NO_QUIET_HOURS
    match = QUIET_PERIOD.match(text)
    if match is None:
        raise _bad_quiet_hours(text)
    try:
        start, end = time(int(match[1]), int(match[2])), time(int(match[3]), int(match[4]))
    except ValueError:  # 24:00, 07:75
        raise _bad_quiet_hours(text) from None
    if start == end:
        raise ValueError(f"HOAGIAI_QUIET_HOURS starts and ends at the same time ({text!r}); "
                         f"use {QUIET_OFF} for no quiet hours")
    return QuietHours(start=start, end=end)


def _day_list(text: str, highest: int, problem: str) -> tuple[int, ...]:
    """"15,18,19" -> (15, 18, 19), sorted without repeats; "" or "off" -> (); ValueError(problem)
    when a part is not a whole number from 1 to `highest`."""
    if text.strip().lower() in ("", QUIET_OFF):
        return ()
    try:
        days = sorted({int(part) for part in text.split(",")})
    except ValueError:
        days = []
    if not days or days[0] < 1 or days[-1] > highest:
        raise ValueError(f"{problem} or {QUIET_OFF}, got {text!r}")
    return tuple(days)


def parse_days_of_month(text: str) -> tuple[int, ...]:
    """The days of the month leaders are reminded of the monthly update."""
    return _day_list(text, 28, "HOAGIAI_MONTHLY_REMINDER_DAYS must be days of the month from 1 to 28 separated "
                               "by commas (e.g. 15,18,19)")


def parse_checkin_days(text: str) -> tuple[int, ...]:
    """The days after a successful mediation when the check-ins are asked."""
    return _day_list(text, 3650, "HOAGIAI_CHECKIN_DAYS must be whole days after the mediation separated by commas "
                                 "(e.g. 7,30,90)")


def _bad_quiet_hours(text: str) -> ValueError:
    return ValueError(f"HOAGIAI_QUIET_HOURS must be HH:MM-HH:MM in local time (e.g. 21:00-07:00) "
                      f"or {QUIET_OFF}, got {text!r}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOAGIAI_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./data/hoagiai.db"
    telegram_token: SecretStr | None = None
    telegram_bot_username: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_]{5,32}$")  # for t.me links
    telegram_api_base_url: str = DEFAULT_TELEGRAM_API
    telegram_file_base_url: str | None = None
    telegram_mode: Literal["polling", "webhook"] = "polling"
    telegram_poll_timeout: int = Field(default=25, ge=0, le=60)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    # Signs the web chat's file links (bot/web/chat_files.py); every worker needs the same one.
    # Unset: a random key per process, and links from before a restart stop working.
    web_file_secret: SecretStr | None = None
    web_enabled: bool = True
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    alert_chat_id: str | None = None
    timezone: str = "Asia/Ho_Chi_Minh"
    ward_code: str | None = None
    form_ttl_hours: float = Field(default=24, gt=0)
    upload_dir: Path = Path("./data/uploads")
    max_upload_bytes: int = 10 * 1024 * 1024
    log_level: str = "INFO"
    # This process's name on the outbox rows it holds; each worker sharing a database needs its
    # own, kept across restarts (a restarted worker takes back at once what it held).
    worker_name: str = Field(default_factory=socket.gethostname, min_length=1, max_length=64)
    rules_file: Path | None = None  # a ward's changes to the deadline rules (scheduler/rules.yaml)
    days_off_file: Path | None = None  # the ward's own days off, besides the public holidays
    quiet_hours: str = "21:00-07:00"  # local time; "off" or "" for none (see `quiet_period`)
    sweep_seconds: float = Field(default=30, ge=1, le=3600)  # how often due reminders are looked for
    urgent_realert_minutes: float = Field(default=10, gt=0)  # an unacknowledged urgent case is alerted again
    urgent_escalate_after: int = Field(default=3, ge=1)  # from this re-alert on, the head is told too
    checkin_days: str = "7,30,90"  # days after a successful mediation to ask if the agreement holds
    # The residential groups' monthly update: the month runs from this day of the previous month
    # (15, NĐ 09/2019 Điều 12; 1 for calendar months), is due before `monthly_due_day`, and
    # leaders who have not sent it are reminded on `monthly_reminder_days`.
    monthly_first_day: int = Field(default=15, ge=1, le=28)
    monthly_due_day: int = Field(default=20, ge=1, le=28)
    monthly_reminder_days: str = "15,18,19"
    prolonged_days: int = Field(default=30, ge=1, le=3650)  # the ward's report: open longer than this is prolonged
    # Closed cases lose their reporter, contacts, address and location after this many years
    # (scheduler/retention.py); the statistics still count them.
    retention_years: int = Field(default=5, ge=1, le=100)
    form_reminder_hours: float = Field(default=3, gt=0)  # an abandoned form is reminded this long before expiry
    # Confidential reporters' identities are sealed with these (storage/identity_vault.py): Fernet
    # keys separated by commas, the first seals, all open. Unset: the key file, created with a new
    # key on first start (the demo); back it up. Read when the bot starts, not here.
    identity_keys: SecretStr | None = None
    identity_key_file: Path = Path("./data/identity.keys")

    @field_validator("alert_chat_id", "ward_code", "webhook_url", "rules_file", "days_off_file", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("telegram_bot_username", mode="before")
    @classmethod
    def _username_without_at(cls, value: object) -> object:
        """People copy it as BotFather shows it, "@hoagia_bot"; the link wants it bare."""
        if isinstance(value, str):
            value = value.strip().removeprefix("@")
        return None if value == "" else value

    @field_validator("telegram_token", "webhook_secret", "web_file_secret", "identity_keys", mode="before")
    @classmethod
    def _blank_secret_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("monthly_reminder_days")
    @classmethod
    def _reminder_days_readable(cls, value: str) -> str:
        parse_days_of_month(value)
        return value

    @field_validator("checkin_days")
    @classmethod
    def _checkin_days_readable(cls, value: str) -> str:
        parse_checkin_days(value)
        return value

    @property
    def checkin_day_list(self) -> tuple[int, ...]:
        return parse_checkin_days(self.checkin_days)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_readable(cls, value: str) -> str:
        parse_quiet_hours(value)
        return value.strip()

    @property
    def quiet_period(self) -> QuietHours:
        """When unasked, non-urgent messages to residents and leaders wait for the morning."""
        return parse_quiet_hours(self.quiet_hours)

    @property
    def telegram_file_url(self) -> str:
        """PTB's `base_file_url`, derived from the API URL unless set."""
        if self.telegram_file_base_url:
            return self.telegram_file_base_url
        return self.telegram_api_base_url.rstrip("/").removesuffix("/bot") + "/file/bot"


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
