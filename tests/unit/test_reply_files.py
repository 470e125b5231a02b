"""Replies with files: the outbox payload round trip, rows stored before files existed, how the
Telegram channel orders a reply's calls, and the web chat's link signatures and headers."""

from __future__ import annotations

import json
from email.message import Message
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from bot.telegram.outbound import BUTTONS_TEXT, render, safe_file_name, shorten
from bot.web.chat_files import FileLinks, ascii_name, browser_file, clean_name, content_disposition, reply_frame
from handlers.messages import Choice, OutFile, Reply, ShareRequest

SHA = "ab" * 32
CHART = OutFile("photo", SHA, "biểu đồ.png", "image/png", caption="Tháng 11")
SHEET = OutFile("document", "cd" * 32, "Báo cáo tháng 11.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def round_trip(reply: Reply) -> Reply:
    """Through JSON, as the outbox column stores it."""
    return Reply.from_payload(json.loads(json.dumps(reply.to_payload(), ensure_ascii=False)))


def test_reply_with_files_round_trips():
    reply = Reply("Báo cáo tháng 11", buttons=((Choice("Xem", "r:1"),),), files=(CHART, SHEET))
    assert round_trip(reply) == reply
    payload = reply.to_payload()
    assert payload["files"][0] == {"kind": "photo", "sha256": SHA, "file_name": "biểu đồ.png",
                                   "mime_type": "image/png", "caption": "Tháng 11"}
    assert payload["files"][1]["caption"] is None


def test_reply_without_files_has_no_files_key():
    reply = Reply("Xin chào", share=ShareRequest("phone", "Chia sẻ"))
    assert "files" not in reply.to_payload()
    assert round_trip(reply) == reply and round_trip(reply).files == ()


def test_a_row_stored_before_files_existed_still_loads():
    old = {"text": "Đã nhận", "buttons": [[{"label": "OK", "data": "ok"}]], "share": None}
    reply = Reply.from_payload(old)
    assert reply == Reply("Đã nhận", buttons=((Choice("OK", "ok"),),)) and reply.files == ()
    assert Reply.from_payload({"text": "x", "files": None}).files == ()


def test_files_only_reply_round_trips():
    reply = Reply("", files=(SHEET,))
    assert round_trip(reply) == reply


# --- Telegram: which text messages go before the files --------------------------------------------

def test_files_only_reply_sends_no_text_message():
    assert render(Reply("", files=(CHART,))) == []
    assert render(Reply("  \n", files=(CHART,))) == []


def test_buttons_of_a_reply_with_files_stay_on_a_text_message():
    buttons = ((Choice("Tải lại", "r:again"),),)
    assert render(Reply("Báo cáo", buttons=buttons, files=(CHART,))) == [
        ("Báo cáo", {"inline_keyboard": [[{"text": "Tải lại", "callback_data": "r:again"}]]})]
    [(text, markup)] = render(Reply("", buttons=buttons, files=(CHART,)))
    assert text == BUTTONS_TEXT and markup is not None


def test_a_reply_without_files_renders_as_before():
    assert render(Reply("")) == [(BUTTONS_TEXT, None)]
    assert render(Reply("hi")) == [("hi", None)]


def test_upload_names_and_captions_fit_telegram():
    assert safe_file_name('Báo "cáo"\n/2026.xlsx') == "Báo cáo2026.xlsx"
    assert safe_file_name("\x00") == "file"
    assert shorten("ngắn", 1024) == "ngắn"
    long = shorten("chữ " * 400, 1024)
    assert len(long.encode("utf-16-le")) // 2 <= 1024 and long.endswith("…")


# --- web chat links -------------------------------------------------------------------------------

def test_links_are_signed_per_chat_and_key():
    links = FileLinks(b"k" * 32)
    signature = links.signature("chat-a", SHA)
    assert links.check("chat-a", SHA, signature)
    assert not links.check("chat-b", SHA, signature)
    assert not links.check("chat-a", "cd" * 32, signature)
    assert not FileLinks(b"other key").check("chat-a", SHA, signature)
    assert not FileLinks().check("chat-a", SHA, signature)  # a random key of its own


def test_frame_gives_each_file_a_link_and_leaves_other_replies_alone():
    links = FileLinks(b"k" * 32)
    plain = Reply("hi").to_payload()
    assert reply_frame(plain, "chat-a", links) is plain
    frame = reply_frame(Reply("", files=(CHART,)).to_payload(), "chat-a", links)
    [file] = frame["files"]
    assert (file["kind"], file["name"], file["mime"], file["caption"]) == \
        ("photo", "biểu đồ.png", "image/png", "Tháng 11")
    url = urlsplit(file["url"])
    assert url.path == f"/chat/files/{SHA}" and "chat-a" not in file["url"]  # the chat's id never in a link
    query = parse_qs(url.query)
    assert query["name"] == ["biểu đồ.png"] and links.check("chat-a", SHA, query["sig"][0])


def test_file_names_are_cleaned():
    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name("C:\\Users\\a\\Báo cáo.xlsx") == "Báo cáo.xlsx"
    assert clean_name("a\x00b\u202e.png") == "ab.png"
    assert clean_name(None) == ""
    payload = {"kind": "document", "sha256": SHA, "file_name": "\x07", "mime_type": "text/csv"}
    assert browser_file(payload, "c", FileLinks())["name"] == "file"


@pytest.mark.parametrize(("name", "fallback"), [
    ("Báo cáo tháng 11.xlsx", "Bao cao thang 11.xlsx"),
    ("Đơn đề nghị.pdf", "Don de nghi.pdf"),
    ('chart "a".png', "chart _a_.png"),
    ("报告.pdf", "__.pdf"),
])
def test_content_disposition_has_an_ascii_name_and_the_utf8_one(name, fallback):
    header = content_disposition("attachment", name)
    assert ascii_name(name) == fallback
    assert header.startswith(f'attachment; filename="{fallback}"; filename*=UTF-8\'\'')
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert " " not in encoded and '"' not in encoded and unquote(encoded) == name
    # An RFC 2231/5987 parser reads the UTF-8 name back from filename* (which browsers prefer).
    message = Message()
    message["Content-Disposition"] = f"attachment; filename*=UTF-8''{encoded}"
    assert message.get_filename() == name
