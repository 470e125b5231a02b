"""The dispute form through the pure engine: every step, Back, Cancel, invalid answers, editing."""

from datetime import datetime, timezone
import unicodedata

import pytest

from handlers.domain.model import Unit
from handlers.forms import engine
from handlers.forms.dispute import DISPUTE_FORM, normalise_phone
from handlers.forms.engine import FormContext, parse_button
from handlers.i18n import CatalogTranslator
from handlers.messages import FileRef, Inbound, Location, UserRef

T = CatalogTranslator()
NOW = datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc)
GROUPS = tuple(Unit(id=10 + n, code=f"g{n}", name=f"Tổ dân phố số {n}", kind="group") for n in range(1, 9))
USER = UserRef("telegram", "42")
counter = iter(range(1, 10_000))


def ctx(lang="en"):
    return FormContext(lang=lang, t=T, now=NOW, groups=GROUPS)


def msg(**fields):
    return Inbound(platform="telegram", bot_id="1", update_id=str(next(counter)), user=USER, chat_id="42", **fields)


class Form:
    """Drives the engine like the service does, keeping answers and step between inputs."""

    def __init__(self, lang="en"):
        self.ctx = ctx(lang)
        result = engine.start(DISPUTE_FORM, "abc123", self.ctx)
        self.answers, self.step, self.replies = result.answers, result.step, result.replies
        self.result = result

    def send(self, inbound):
        result = engine.advance(DISPUTE_FORM, self.answers, self.step, self.ctx, inbound)
        self.result = result
        self.answers = {k: v for k, v in result.answers.items() if v is not None}
        self.step = result.step
        self.replies = result.replies
        return result

    def text(self, text):
        return self.send(msg(text=text))

    def buttons(self):
        return [c for row in self.replies[-1].buttons for c in row]

    def press(self, label):
        matches = [c for c in self.buttons() if label in c.label]
        assert matches, f"no button {label!r} in {[c.label for c in self.buttons()]}"
        return self.send(msg(callback=matches[0].data))

    @property
    def last_text(self):
        return self.replies[-1].text


def fill_to(form, step):
    order = ["field", "group", "where", "description", "people", "files", "contact", "summary"]
    actions = {
        "field": lambda: form.press("Land"),
        "group": lambda: form.press("Tổ dân phố số 3"),
        "where": lambda: (form.text("12 Tran Phu"), form.press("Next")),
        "description": lambda: form.text("The neighbours built a wall on our land."),
        "people": lambda: (form.press("3–5"), form.press("No")),
        "files": lambda: form.press("Skip"),
        "contact": lambda: form.press("Don't share"),
    }
    for name in order[: order.index(step)]:
        actions[name]()
    assert form.step == step


def test_happy_path_shows_progress_and_finishes():
    form = Form()
    assert "Step 1/8" in form.last_text
    fill_to(form, "summary")
    assert "Step 8/8" in form.last_text
    assert "12 Tran Phu" in form.last_text and "Tổ dân phố số 3" in form.last_text
    result = form.press("Send report")
    assert result.finished
    assert form.answers["field"] == "land" and form.answers["group_id"] == 13
    assert form.answers["people"] == "3-5" and form.answers["danger"] is False
    assert form.answers.get("phone") is None


def test_vietnamese_progress():
    form = Form("vi")
    assert "Bước 1/8" in form.last_text
    form.press("Đất đai")
    assert "Bước 2/8" in form.last_text


@pytest.mark.parametrize("typed", ["to 5", "tổ dân phố số 5", "TDP 5", "tdp5", "To dan pho so 05", "5"])
def test_group_typed_with_and_without_diacritics(typed):
    form = Form()
    fill_to(form, "group")
    form.text(typed)
    assert form.step == "where"
    assert form.answers["group_id"] == 15


def test_group_typed_nfd_text():
    form = Form()
    fill_to(form, "group")
    form.text(unicodedata.normalize("NFD", "Tổ dân phố số 2"))
    assert form.answers["group_id"] == 12


def test_group_unknown_explains_with_example():
    form = Form()
    fill_to(form, "group")
    form.text("tổ 99")
    assert form.step == "group"
    assert "No group" in form.last_text and "to 3" in form.last_text


def test_group_paging():
    form = Form()
    fill_to(form, "group")
    labels = [c.label for c in form.buttons()]
    assert "Tổ dân phố số 7" not in labels and "More ▶" in labels
    form.press("More ▶")
    labels = [c.label for c in form.buttons()]
    assert "Tổ dân phố số 7" in labels and "◀ Previous" in labels
    form.press("Tổ dân phố số 7")
    assert form.answers["group_id"] == 17


def test_where_location_then_address_advances():
    form = Form()
    fill_to(form, "where")
    form.send(msg(location=Location(21.03, 105.85)))
    assert form.step == "where" and "Location received" in form.last_text
    form.text("Ngõ 5")
    assert form.step == "description"
    assert form.answers["latitude"] == 21.03 and form.answers["address"] == "Ngõ 5"


def test_where_next_without_anything_is_refused():
    form = Form()
    fill_to(form, "where")
    assert form.replies[-1].share is not None and form.replies[-1].share.kind == "location"
    # "Next" only appears after an answer; a forged press of it is refused with an example
    form.send(msg(callback="f:abc123:2:next"))
    assert form.step == "where" and "for example" in form.last_text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("😡😡😡🔥🔥🔥🔥🔥🔥🔥", "not only symbols"),
        ("short", "Too short (5 characters"),
        ("x" * 20_000, "Too long (20000 characters"),
    ],
)
def test_description_bad_input(text, expected):
    form = Form()
    fill_to(form, "description")
    form.text(text)
    assert form.step == "description"
    assert expected in form.last_text


def test_description_nfd_is_stored_nfc():
    form = Form()
    fill_to(form, "description")
    form.text(unicodedata.normalize("NFD", "Hàng xóm hát karaoke đến 1 giờ sáng"))
    assert form.answers["description"] == "Hàng xóm hát karaoke đến 1 giờ sáng"


def test_sticker_where_text_expected():
    form = Form()
    fill_to(form, "description")
    form.send(msg(unsupported="sticker"))
    assert form.step == "description" and "cannot use a sticker" in form.last_text


def test_people_typed_number_and_danger_words():
    form = Form()
    fill_to(form, "people")
    form.text("12")
    assert form.answers["people"] == "10+"
    form.text("có")
    assert form.answers["danger"] is True and form.step == "files"


def test_back_inside_people_returns_to_count():
    form = Form()
    fill_to(form, "people")
    form.press("3–5")
    form.press("Back")
    assert form.step == "people" and "people" not in form.answers
    assert "how many people" in form.last_text


def test_back_goes_to_previous_step_keeping_answers():
    form = Form()
    fill_to(form, "description")
    form.press("Back")
    assert form.step == "where" and form.answers["address"] == "12 Tran Phu"
    form.press("Back")
    assert form.step == "group"


def test_cancel_at_any_step():
    form = Form()
    fill_to(form, "files")
    assert form.press("Cancel").cancelled


def test_files_up_to_five_with_hash_dedupe():
    form = Form()
    fill_to(form, "files")
    for n in range(3):
        form.send(msg(files=(FileRef("photo", f"id{n}", f"{n:064x}", 100),)))
    form.send(msg(files=(FileRef("photo", "again", f"{0:064x}", 100),)))  # same content
    assert len(form.answers["files"]) == 3 and form.step == "files"
    form.send(msg(files=(FileRef("photo", "id3", f"{3:064x}", 100),)))
    form.send(msg(files=(FileRef("document", "id4", f"{4:064x}", 100),)))
    assert len(form.answers["files"]) == 5 and form.step == "contact"


def test_text_in_files_step_explains():
    form = Form()
    fill_to(form, "files")
    form.text("here")
    assert form.step == "files" and "send a photo" in form.last_text


@pytest.mark.parametrize("raw, phone", [("0912 345 678", "+84912345678"), ("+84 912.345.678", "+84912345678"), ("12345", None), ("abc", None)])
def test_phone_normalisation(raw, phone):
    assert normalise_phone(raw) == phone


def test_contact_shared_and_invalid_typed():
    form = Form()
    fill_to(form, "contact")
    assert form.replies[-1].share.kind == "phone"
    form.text("not a phone")
    assert form.step == "contact" and "0912 345 678" in form.last_text
    form.send(msg(phone="0912345678"))
    assert form.step == "summary" and form.answers["phone"] == "+84912345678"


def test_edit_from_summary_returns_to_summary():
    form = Form()
    fill_to(form, "summary")
    form.press("✏️ What happened")
    assert form.step == "description"
    form.text("Loud karaoke every night until 2 am.")
    assert form.step == "summary" and "Loud karaoke" in form.last_text


def test_edit_people_asks_both_questions_again():
    form = Form()
    fill_to(form, "summary")
    form.press("✏️ People")
    assert "how many people" in form.last_text
    form.press("6–10")
    form.press("Yes")
    assert form.step == "summary" and form.answers["danger"] is True


def test_back_while_editing_returns_to_summary():
    form = Form()
    fill_to(form, "summary")
    form.press("✏️ Contact")
    assert form.step == "contact"
    form.press("Back")
    assert form.step == "summary" and "Please check your report" in form.last_text


def test_stale_button_from_older_step_reprompts_current():
    form = Form()
    fill_to(form, "field")
    old_land = [c for c in form.buttons() if c.label == "Land"][0].data
    form.press("Land")
    form.send(msg(callback=old_land))
    assert form.step == "group" and "older message" in form.last_text


def test_button_of_another_form_is_stale():
    form = Form()
    form.send(msg(callback="f:zzzzzz:0:land"))
    assert form.step == "field" and "older message" in form.last_text


@pytest.mark.parametrize("payload", ["garbage", "f:abc123:x:land", "f:abc123:0:not-a-field", "💥" * 10])
def test_forged_callbacks_are_refused(payload):
    form = Form()
    form.send(msg(callback=payload))
    assert form.step == "field"
    assert "could not read" in form.last_text or "choose a field" in form.last_text


@pytest.mark.parametrize("step", ["field", "group", "where", "description", "people", "files", "contact", "summary"])
def test_every_button_payload_fits_telegram(step):
    form = Form()
    fill_to(form, step)
    assert form.buttons()
    for choice in form.buttons():
        assert len(choice.data.encode()) <= 64 and parse_button(choice.data) is not None
