"""Text helpers on what residents really type: NFD input, no diacritics, emoji, pasted junk."""

import unicodedata

import pytest

from handlers.text import clean_text, fold, has_letters_or_digits, nfc

NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731


def test_nfc_composes_decomposed_input():
    decomposed = NFD("Tổ dân phố số 5")
    assert decomposed != "Tổ dân phố số 5"
    assert nfc(decomposed) == "Tổ dân phố số 5"
    assert nfc("") == ""


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Đánh nhau", "danh nhau"),
        ("ĐÁNH NHAU", "danh nhau"),
        ("danh nhau", "danh nhau"),
        (NFD("Hàng xóm hát karaoke"), "hang xom hat karaoke"),
        ("đường Nguyễn Trãi", "duong nguyen trai"),
        ("Tổ dân phố số 05", "to dan pho so 05"),
        ("Hôn nhân & gia đình", "hon nhan gia dinh"),
        ("Hàng xóm, trật tự công cộng", "hang xom trat tu cong cong"),
        ("  nhiều   khoảng\ttrắng\n\nvà dòng  ", "nhieu khoang trang va dong"),
        ("...đánh-nhau!!! (ở ngõ 7)", "danh nhau o ngo 7"),
        ("“Cháy nhà” — gọi 114!", "chay nha goi 114"),
        ("đánh😡nhau🔥", "danh nhau"),
        ("Trên 10", "tren 10"),
        ("10+", "10"),
        ("TDP5", "tdp5"),
        ("ơ ư ă â ê ô", "o u a a e o"),
        ("hòa hoà", "hoa hoa"),
        ("soft\u00adhyphen zero\u200bwidth", "softhyphen zerowidth"),
        ("😡😡😡", ""),
        ("", ""),
    ],
)
def test_fold(text, expected):
    assert fold(text) == expected


def test_fold_is_idempotent():
    text = "Hai nhóm thanh niên CẦM DAO đánh nhau, có người bị thương!!!"
    assert fold(fold(text)) == fold(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Hàng xóm hát karaoke", True),
        ("5", True),
        ("đ", True),
        ("😡😡😡🔥🔥", False),
        ("...!!!???", False),
        ("   \n\t ", False),
        ("", False),
        ("👍 ok", True),
        (NFD("ồ"), True),
        ("\u0301\u0300", False),
    ],
)
def test_has_letters_or_digits(text, expected):
    assert has_letters_or_digits(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("  Hàng xóm hát karaoke  ", "Hàng xóm hát karaoke"),
        (NFD("Hàng xóm hát karaoke đến 1 giờ sáng"), "Hàng xóm hát karaoke đến 1 giờ sáng"),
        ("Dòng 1\r\nDòng 2\rDòng 3", "Dòng 1\nDòng 2\nDòng 3"),
        ("Nhà\x00 số\x07 5\x1b[0m", "Nhà số 5[0m"),
        ("cột\tcột", "cột cột"),
        ("Đoạn 1\n\nĐoạn 2", "Đoạn 1\n\nĐoạn 2"),
        ("Đoạn 1\n\n\nĐoạn 2", "Đoạn 1\n\n\nĐoạn 2"),
        ("Đoạn 1\n\n\n\n\n\nĐoạn 2", "Đoạn 1\n\n\nĐoạn 2"),
        ("Đoạn 1\n  \n\t\n \n\nĐoạn 2", "Đoạn 1\n\n\nĐoạn 2"),
        ("\n\n  Nội dung\n\n", "Nội dung"),
        ("Emoji giữ nguyên 😡👍🏽 và 👨\u200d👩\u200d👧", "Emoji giữ nguyên 😡👍🏽 và 👨\u200d👩\u200d👧"),
        ("\x00\x01", ""),
        ("", ""),
    ],
)
def test_clean_text(text, expected):
    assert clean_text(text) == expected


def test_clean_text_keeps_case_and_diacritics():
    assert clean_text("ĐÁNH NHAU ở Ngõ 7") == "ĐÁNH NHAU ở Ngõ 7"
