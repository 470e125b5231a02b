"""Files in the bot's replies, in headless Chromium on a phone-sized screen: the chart shows in
the conversation, the spreadsheet downloads under its Vietnamese name, and another browser
(another chat) cannot open the same links."""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from pathlib import Path

import pytest

from handlers.messages import OutFile, Reply

pytestmark = pytest.mark.browser

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_NAME = "Báo cáo tháng 11.xlsx"


def chart_png(width: int = 160, height: int = 90) -> bytes:
    """A plain PNG of the brand colour, big enough to see."""
    rows = b"".join(b"\x00" + bytes((14, 107, 88)) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def open_chat(page, server):
    page.goto(f"{server.url}/chat")
    expect()(page.locator(".msg-bot").first).to_contain_text("Xin chào")
    return page


def ask_for_report(page, server) -> tuple[bytes, bytes]:
    png, xlsx = chart_png(), b"PK\x03\x04" + os.urandom(2048)
    reply = Reply("Báo cáo tháng 11", files=(
        OutFile("photo", server.add_blob(png, "image/png"), "biểu đồ.png", "image/png", caption="Số vụ theo lĩnh vực"),
        OutFile("document", server.add_blob(xlsx, XLSX_MIME), SHEET_NAME, XLSX_MIME)))
    server.core.scripted["báo cáo"] = reply
    page.locator("#text").fill("báo cáo")
    page.get_by_role("button", name="Gửi", exact=True).click()
    return png, xlsx


def shown_width(page, image) -> int:
    expect()(image).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    return image.evaluate("img => img.naturalWidth")


def test_the_chart_shows_inline_and_the_spreadsheet_downloads(phone, chat_server, artifacts):
    page = open_chat(phone, chat_server)
    png, xlsx = ask_for_report(page, chat_server)
    check = expect()
    bubble = page.locator(".msg-bot").last
    check(bubble.locator(".msg-text")).to_have_text("Báo cáo tháng 11")

    image = bubble.locator("img.reply-photo")
    assert shown_width(page, image) == 160
    assert image.get_attribute("alt") == "biểu đồ.png"
    check(bubble.locator(".file-caption")).to_have_text("Số vụ theo lĩnh vực")
    assert image.bounding_box()["width"] <= 390  # fits the phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    link = bubble.locator("a.file-link")
    check(link).to_contain_text(SHEET_NAME)
    check(link).to_contain_text("Tải xuống")
    assert link.bounding_box()["height"] >= 44
    page.screenshot(path=str(artifacts / "web-chat-phone-files.png"))
    with page.expect_download() as caught:
        link.click()
    download = caught.value
    assert download.suggested_filename == SHEET_NAME
    assert Path(download.path()).read_bytes() == xlsx

    # The conversation kept in the browser draws the files again after a reload.
    page.reload()
    assert shown_width(page, page.locator(".msg-bot").last.locator("img.reply-photo")) == 160


def test_another_browser_cannot_open_the_links(new_phone_page, chat_server):
    page = open_chat(new_phone_page(), chat_server)
    ask_for_report(page, chat_server)
    bubble = page.locator(".msg-bot").last
    expect()(bubble.locator("a.file-link")).to_be_visible()
    urls = [bubble.locator("a.file-link").get_attribute("href"),
            bubble.locator("img.reply-photo").get_attribute("src")]
    assert page.request.get(chat_server.url + urls[0]).status == 200  # this chat's own cookie

    other = open_chat(new_phone_page(), chat_server)  # another chat, its own cookie
    for url in urls:
        assert other.request.get(chat_server.url + url).status == 403


def test_a_file_no_longer_stored_says_so(phone, chat_server):
    gone = OutFile("photo", hashlib.sha256(b"pruned long ago").hexdigest(), "biểu đồ.png", "image/png")
    chat_server.core.scripted["báo cáo cũ"] = Reply("Báo cáo tháng trước", files=(gone,))
    page = open_chat(phone, chat_server)
    page.locator("#text").fill("báo cáo cũ")
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect()(page.locator(".reply-file-gone")).to_have_text("Tệp biểu đồ.png không còn trên máy chủ.")
