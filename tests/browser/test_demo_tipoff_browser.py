"""The real `python -m bot demo` process from two phone-sized Chromium pages: an anonymous crime
tip-off made in the web chat, then its status checked with the receipt code and PIN from another
web chat (another account), where the reporter adds information."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_demo_report_browser import (  # noqa: F401 (fixture)
    LABELS, demo, expect_bot, tap, type_and_send,
)

pytestmark = pytest.mark.browser

RECEIPT = re.compile(r"Mã tin báo: (TB-[0-9A-Z-]+)\s+Mã PIN: (\d{6})")
STORY = "Có người bán ma túy sau chợ vào mỗi tối, dùng một xe tải màu xám."


def consent(page, url: str) -> None:
    page.goto(url)
    tap(page, LABELS["language"])
    tap(page, LABELS["consent"])


def test_anonymous_tipoff_then_status_from_another_web_chat(new_phone_page, demo, artifacts):
    reporter, other = new_phone_page(), new_phone_page()
    try:
        consent(reporter, demo)
        tap(reporter, "Báo tin tội phạm")
        expect_bot(reporter, "Ẩn danh: không lưu bất kỳ thông tin nào về bạn")
        tap(reporter, "Ẩn danh")
        expect_bot(reporter, "Bước 1/7")
        type_and_send(reporter, STORY)
        expect_bot(reporter, "Bước 2/7")
        type_and_send(reporter, "Khoảng 21 giờ tối qua")
        expect_bot(reporter, "Bước 3/7")
        type_and_send(reporter, "Phía sau chợ, ngõ 5")
        tap(reporter, LABELS["where_next"])
        expect_bot(reporter, "Bước 4/7")
        tap(reporter, "Bỏ qua")
        expect_bot(reporter, "Bước 5/7")
        tap(reporter, LABELS["files_skip"])
        expect_bot(reporter, "Bước 6/7")
        tap(reporter, "Không")
        expect_bot(reporter, "Bước 7/7")
        tap(reporter, "Gửi tin báo")
        expect_bot(reporter, "Đã nhận tin báo #1")
        code, pin = RECEIPT.search(reporter.locator(".msg-bot").last.inner_text()).groups()

        consent(other, demo)
        type_and_send(other, f"{code} {pin}")
        expect_bot(other, "Tin báo #1")
        expect_bot(other, "gửi thêm thông tin")
        type_and_send(other, "Biển số xe tải là 29C-123.45")
        expect_bot(other, "Đã gửi cho Công an phường")
        type_and_send(other, f"{code} 000000" if pin != "000000" else f"{code} 111111")
        expect_bot(other, "Mã tin báo hoặc mã PIN không đúng")
        other.screenshot(path=str(artifacts / "web-demo-tipoff-status.png"), full_page=False)
    except Exception:
        reporter.screenshot(path=str(artifacts / "web-demo-tipoff-failure-reporter.png"))
        other.screenshot(path=str(artifacts / "web-demo-tipoff-failure-other.png"))
        raise
