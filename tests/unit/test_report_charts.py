"""The roll-up's and /stats' charts (handlers/report_charts.py): valid PNGs an officer can read
on a phone (1000 px wide), in Vietnamese and English, with no data and with large numbers, every
label found in the catalogs and every letter in the font."""

from __future__ import annotations

import io
import logging
import struct
import subprocess
import sys
import warnings
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from PIL import Image

from handlers.domain.model import DISPUTE_FIELDS
from handlers.domain.periods import last_periods
from handlers.domain.rollup import Rollup, Ward
from handlers.domain.stats import MonthStats, StatsSeries
from handlers.i18n import CatalogTranslator
from handlers.report_charts import rollup_chart, stats_chart
from handlers.report_output import Labels

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ZONE = "Asia/Ho_Chi_Minh"
STARTS = datetime(2026, 10, 14, 17, tzinfo=timezone.utc)
PERIODS = last_periods(datetime(2026, 11, 20, tzinfo=timezone.utc), ZONE)
TRANSLATOR = CatalogTranslator()


class Recording:
    """The real catalogs, remembering which keys were asked for."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def __call__(self, key: str, lang: str, /, **params) -> str:
        self.keys.append(key)
        return TRANSLATOR(key, lang, **params)


def rollup_of(ward: Ward | None = Ward(1, "phuong-1", "Phường Hòa Bình"), **figures) -> Rollup:
    return Rollup(period="2026-11", months=("2026-11",), first=date(2026, 10, 15), last=date(2026, 11, 14),
                  starts=STARTS, ends=STARTS, ward=ward, **figures)


TYPICAL = rollup_of(received=23, by_field={"land": 8, "family": 5, "public_order": 4, "environment": 2,
                                           "construction": 2, "other": 2},
                    successful=9, unsuccessful=2, withdrawn=1)
LARGE = rollup_of(received=8 * 1_234_567, by_field={code: 1_234_567 for code in DISPUTE_FIELDS},
                  successful=987_654_321, unsuccessful=12_345_678, withdrawn=1_000_000)
EMPTY = rollup_of(ward=None)


def series_of(received: int, outcome: int, still_open: int) -> StatsSeries:
    return StatsSeries(1, tuple(
        MonthStats(p.code, p.first, p.last, {code: received * (i + 1) for i, code in enumerate(DISPUTE_FIELDS[:5])},
                   {"successful": outcome * 3, "unsuccessful": outcome, "withdrawn": outcome, "transferred": outcome},
                   still_open) for p in PERIODS))


TYPICAL_SERIES = series_of(1, 1, 2)
LARGE_SERIES = series_of(250_000, 1_000_000, 3_000_000)
EMPTY_SERIES = StatsSeries(None, tuple(MonthStats(p.code, p.first, p.last) for p in PERIODS))


def size_of(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which comes first after the signature."""
    assert png[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", png[8:16])
    assert (length, kind) == (13, b"IHDR")
    return struct.unpack(">II", png[16:24])


def draw(chart, data, lang: str, caplog) -> tuple[bytes, list[str]]:
    """The PNG and the keys asked for; fails on a missing glyph or a missing catalog key."""
    translator = Recording()
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.ERROR, logger="handlers.i18n"):
        warnings.simplefilter("always")
        png = chart(data, Labels(translator, lang))
    assert not [str(w.message) for w in caught if "glyph" in str(w.message).lower()]
    assert not [r.getMessage() for r in caplog.records if "missing message key" in r.getMessage()]
    return png, translator.keys


def assert_readable_png(png: bytes) -> None:
    width, height = size_of(png)
    assert width == 1000 and 1000 <= height <= 2000
    Image.open(io.BytesIO(png)).verify()
    with Image.open(io.BytesIO(png)) as image:
        assert (image.format, image.size) == ("PNG", (width, height))
        image.load()


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("rollup", [TYPICAL, LARGE, EMPTY], ids=["typical", "large", "empty"])
def test_the_roll_up_chart(rollup, lang, caplog):
    png, keys = draw(rollup_chart, rollup, lang, caplog)
    assert_readable_png(png)
    assert {f"field.{code}" for code in DISPUTE_FIELDS} <= set(keys) or rollup is EMPTY
    assert ("charts.rollup.no_cases" in keys) == (rollup is EMPTY)
    assert ("charts.rollup.no_mediation" in keys) == (rollup is EMPTY)
    assert ("charts.rollup.rate.none" in keys) == (rollup is EMPTY)


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("series", [TYPICAL_SERIES, LARGE_SERIES, EMPTY_SERIES], ids=["typical", "large", "empty"])
def test_the_stats_chart(series, lang, caplog):
    png, keys = draw(stats_chart, series, lang, caplog)
    assert_readable_png(png)
    assert ("charts.no_data" in keys) == (series is EMPTY_SERIES)
    assert {f"actions.outcome_value.{code}" for code in ("successful", "unsuccessful", "withdrawn", "transferred")} \
        <= set(keys)


def test_calendar_months_and_no_months_at_all(caplog):
    calendar = last_periods(datetime(2026, 11, 20, tzinfo=timezone.utc), ZONE, count=3, first_day=1)
    png, keys = draw(stats_chart, StatsSeries(None, tuple(MonthStats(p.code, p.first, p.last) for p in calendar)),
                     "vi", caplog)
    assert "charts.stats.month" in keys and "charts.stats.month.shifted" not in keys
    assert_readable_png(png)
    assert_readable_png(draw(stats_chart, StatsSeries(None), "en", caplog)[0])


def test_the_same_figures_give_the_same_bytes():
    labels = Labels(TRANSLATOR, "vi")
    assert rollup_chart(TYPICAL, labels) == rollup_chart(TYPICAL, labels)
    assert stats_chart(TYPICAL_SERIES, labels) == stats_chart(TYPICAL_SERIES, labels)


def test_the_bot_starts_without_matplotlib():
    code = "import sys, handlers.report_charts; assert 'matplotlib' not in sys.modules, 'imported early'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])
