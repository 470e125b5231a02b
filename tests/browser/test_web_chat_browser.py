"""The web chat page in headless Chromium on a phone-sized screen, against a scripted core."""

from __future__ import annotations

import hashlib
import re

import pytest

pytestmark = pytest.mark.browser

TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2d1a1"
    "8e0000000049454e44ae426082"
)


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def open_chat(page, server, query: str = ""):
    page.goto(f"{server.url}/chat{query}")
    expect()(page.locator(".msg-bot").first).to_contain_text("Xin chào")
    return page


def last_bot(page):
    return page.locator(".msg-bot").last


def tap(page, label: str):
    button = page.locator(".choices").last.get_by_role("button", name=label, exact=True)
    expect()(button).to_be_enabled()
    button.click()


def send_text(page, text: str):
    page.locator("#text").fill(text)
    page.get_by_role("button", name="Gửi", exact=True).click()


def test_conversation_on_a_phone(phone, chat_server, artifacts):
    page = open_chat(phone, chat_server)
    check = expect()

    # The greeting keeps its line break and offers its buttons.
    greeting = page.locator(".msg-bot").first
    assert greeting.inner_text() == "Xin chào! Đây là bản thử.\nChọn một mục:"
    assert [c.text for c in chat_server.core.calls] == ["/start"]

    # A button sends its data and shows its label as the resident's message.
    tap(page, "Báo mâu thuẫn")
    check(page.locator(".msg-user").last).to_contain_text("Báo mâu thuẫn")
    check(last_bot(page)).to_contain_text("Bước 3/8")
    assert chat_server.core.calls[-1].callback == "m:r"

    # share.kind == "location": the page offers the browser's location.
    page.locator(".choices").last.get_by_role("button", name="Chia sẻ vị trí").click()
    check(last_bot(page)).to_contain_text("Đã nhận vị trí 21.0285, 105.8542")
    location = chat_server.core.calls[-1].location
    assert (round(location.latitude, 4), round(location.longitude, 4)) == (21.0285, 105.8542)
    page.screenshot(path=str(artifacts / "web-chat-phone-buttons.png"))

    # share.kind == "phone": the page asks for the number and sends it as `phone`.
    page.once("dialog", lambda dialog: dialog.accept("0912 345 678"))
    page.locator(".choices").last.get_by_role("button", name="Chia sẻ số điện thoại").click()
    check(last_bot(page)).to_contain_text("Đã nhận số 0912 345 678")
    assert chat_server.core.calls[-1].phone == "0912 345 678"

    # Typed text, with markup that must stay text, and a line break.
    typed = "Nhà số 5 <b>xây lấn</b> lối đi\nsang nhà tôi"
    send_text(page, typed)
    check(last_bot(page)).to_contain_text("Bạn đã viết:")
    assert chat_server.core.calls[-1].text == typed
    assert page.locator(".msg-user").last.locator(".msg-text").inner_text() == typed
    assert page.locator("#log b").count() == 0
    check(page.locator(".msg-user").last).to_have_attribute("data-status", "sent")
    assert page.locator("#text").input_value() == ""

    # Fits the phone: no sideways scrolling, thumb-sized buttons.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for selector in ("#send", "#attach", "#text"):
        assert page.locator(selector).bounding_box()["height"] >= 44, selector
    page.screenshot(path=str(artifacts / "web-chat-phone.png"))


def test_first_visit_sends_start_once_and_a_reload_keeps_the_conversation(phone, chat_server):
    page = open_chat(phone, chat_server)
    tap(page, "Trợ giúp")
    expect()(last_bot(page)).to_contain_text("Bạn đã chọn m:h")
    page.reload()
    expect()(page.locator(".msg-bot")).to_have_count(2)
    expect()(page.locator(".msg-user .msg-text")).to_have_text(["Trợ giúp"])
    send_text(page, "sau khi tải lại")
    expect()(last_bot(page)).to_contain_text("sau khi tải lại")
    calls = chat_server.core.calls
    assert [c.text for c in calls].count("/start") == 1
    assert len({c.chat_id for c in calls}) == 1


def test_english_page(phone, chat_server):
    page = open_chat(phone, chat_server, "?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#text").get_attribute("placeholder") == "Type a message…"
    assert chat_server.core.calls[0].user.language_code == "en"


def test_location_refused_asks_for_the_address(new_phone_page, chat_server):
    page = open_chat(new_phone_page(), chat_server)  # no geolocation permission
    tap(page, "Báo mâu thuẫn")
    page.locator(".choices").last.get_by_role("button", name="Chia sẻ vị trí").click()
    expect()(page.locator(".note-error")).to_contain_text("Vui lòng nhập địa chỉ")
    expect()(page.locator("#text")).to_be_focused()
    assert all(c.location is None for c in chat_server.core.calls)


def test_photo_is_sent_and_a_large_file_is_refused_in_the_page(phone, chat_server):
    page = open_chat(phone, chat_server)
    page.set_input_files("#file", files=[{"name": "ảnh.png", "mimeType": "image/png", "buffer": TINY_PNG}])
    expect()(last_bot(page)).to_contain_text("Đã nhận tệp ảnh.png")
    (file,) = chat_server.core.calls[-1].files
    assert (file.kind, file.sha256, file.mime_type) == ("photo", hashlib.sha256(TINY_PNG).hexdigest(), "image/png")
    expect()(page.locator(".msg-user img.thumb")).to_have_count(1)

    calls = len(chat_server.core.calls)
    big = b"0" * (chat_server.max_upload_bytes + 1)
    page.set_input_files("#file", files=[{"name": "lớn.pdf", "mimeType": "application/pdf", "buffer": big}])
    expect()(page.locator(".note-error")).to_contain_text("quá lớn")
    assert len(chat_server.core.calls) == calls


def test_reconnects_and_resends_what_was_not_acknowledged(phone, chat_server):
    page = open_chat(phone, chat_server)
    check = expect()

    # The server drops the socket while the core is still handling the message: no ack came,
    # so the page re-sends it with the same id after reconnecting; the core answers once.
    send_text(page, "chậm")
    check(page.locator(".msg-user").last).to_have_attribute("data-status", "pending")
    chat_server.call(chat_server.hub.close_all)
    check(page.locator("#status")).to_contain_text("Mất kết nối")
    check(page.locator("#status")).to_contain_text("Đã kết nối lại")
    check(page.locator(".msg-user").last).to_have_attribute("data-status", "sent", timeout=15_000)
    check(last_bot(page)).to_contain_text("Bạn đã viết:\nchậm")
    slow = [c for c in chat_server.core.calls if c.text == "chậm"]
    assert len(slow) == 2 and slow[0].update_id == slow[1].update_id
    assert page.locator(".msg-bot", has_text="chậm").count() == 1
    assert len(chat_server.connects) >= 2

    # A failure in the core is retried by the page without the resident doing anything.
    send_text(page, "lỗi")
    check(last_bot(page)).to_contain_text("Bạn đã viết:\nlỗi", timeout=15_000)
    failed = [c for c in chat_server.core.calls if c.text == "lỗi"]
    assert len(failed) == 2 and failed[0].update_id == failed[1].update_id
    assert re.fullmatch(r"[0-9a-f-]{36}", failed[0].chat_id)
