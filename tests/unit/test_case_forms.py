"""The staff forms' steps, pure: choices (pressed or typed), texts, dates in the ward's zone,
forms that end early, and button labels that fit."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from handlers.domain import workflow as wf
from handlers.forms import engine
from handlers.forms.case_forms import ASSIGN_FORM, CLASSIFY_FORM, OUTCOME_FORM, PLAN_FORM, TARGETS
from handlers.forms.engine import FormContext
from handlers.forms.steps import CASE_CODE, parse_date
from handlers.i18n import CatalogTranslator, load_catalog
from handlers.messages import MAX_LABEL_CHARS, Choice, Inbound, UserRef

T = CatalogTranslator()
# 23:30 on 21 Nov in UTC is already 22 Nov in Hanoi.
NOW = datetime(2026, 11, 21, 23, 30, tzinfo=timezone.utc)
CTX = FormContext(lang="en", t=T, now=NOW, zone="Asia/Ho_Chi_Minh")


def inbound(text: str | None = None, callback: str | None = None) -> Inbound:
    return Inbound("telegram", "1", "1", UserRef("telegram", "9"), "9", text=text, callback=callback)


def press(result: engine.EngineResult, spec, label: str) -> engine.EngineResult:
    for row in result.replies[-1].buttons:
        for choice in row:
            if label in choice.label:
                return engine.advance(spec, result.answers, result.step, CTX, inbound(callback=choice.data))
    raise AssertionError(f"no button {label!r} in {result.replies[-1]}")


def say(result: engine.EngineResult, spec, text: str) -> engine.EngineResult:
    return engine.advance(spec, result.answers, result.step, CTX, inbound(text=text))


def test_classify_collects_everything_and_accepts_typed_labels():
    result = engine.start(CLASSIFY_FORM, "tok", CTX, {CASE_CODE: "HG-2026-000001", "_now_field": "land"})
    assert "Case HG-2026-000001" in result.replies[0].text and "✓ Land" in str(result.replies[0].buttons)
    result = say(result, CLASSIFY_FORM, "hon nhan gia dinh")  # the Vietnamese label typed without diacritics
    assert result.answers["field"] == "family"
    result = say(result, CLASSIFY_FORM, "something else")
    assert "choose one of the buttons" in result.replies[0].text
    result = press(result, CLASSIFY_FORM, "administrative")
    result = press(result, CLASSIFY_FORM, "hot spot")
    result = press(result, CLASSIFY_FORM, "Yes")
    result = say(result, CLASSIFY_FORM, "0")
    assert "type a number" in result.replies[0].text and not result.finished
    result = say(result, CLASSIFY_FORM, "12")
    assert result.finished
    assert {k: result.answers[k] for k in ("field", "nature", "complexity", "urgent", "people")} == {
        "field": "family", "nature": "administrative", "complexity": "hotspot", "urgent": "yes", "people": 12}


def test_an_outcome_form_asks_for_the_record_only_after_a_successful_mediation():
    unsuccessful = press(engine.start(OUTCOME_FORM, "tok", CTX, {"_mediation": True}), OUTCOME_FORM, "Unsuccessful")
    assert unsuccessful.finished and unsuccessful.answers["outcome"] == wf.UNSUCCESSFUL
    other_path = press(engine.start(OUTCOME_FORM, "tok", CTX, {"_mediation": False}), OUTCOME_FORM, "Successful")
    assert other_path.finished

    result = press(engine.start(OUTCOME_FORM, "tok", CTX, {"_mediation": True}), OUTCOME_FORM, "Successful")
    assert not result.finished and "Step 2/5" in result.replies[0].text
    for part in wf.RECORD_PARTS:
        result = say(result, OUTCOME_FORM, f"the {part}")
    assert result.finished and [result.answers[p] for p in wf.RECORD_PARTS] == [f"the {p}" for p in wf.RECORD_PARTS]


def test_a_transfer_asks_to_whom():
    options = {"_interventions": [["mediation", "Mediation"], ["transfer", "Transfer"]]}
    mediation = press(engine.start(PLAN_FORM, "tok", CTX, options), PLAN_FORM, "Mediation")
    assert mediation.finished
    transfer = press(engine.start(PLAN_FORM, "tok", CTX, options), PLAN_FORM, "Transfer")
    assert not transfer.finished
    assert say(transfer, PLAN_FORM, "Tòa án nhân dân khu vực 1").answers["transfer_to"] == "Tòa án nhân dân khu vực 1"


def test_only_the_offered_targets_can_be_chosen():
    result = engine.start(ASSIGN_FORM, "tok", CTX, {TARGETS: [["p7", "👮 Officer"], ["u3", "🏢 Văn phòng"]]})
    forged = engine.advance(ASSIGN_FORM, result.answers, result.step, CTX,
                            inbound(callback=engine.button("tok", 0, "p99")))
    assert not forged.finished and "choose one of the buttons" in forged.replies[0].text
    assert press(result, ASSIGN_FORM, "Văn phòng").answers["target"] == "u3"


@pytest.mark.parametrize("text, expected", [
    ("25/12/2026", date(2026, 12, 25)), ("25-12-26", date(2026, 12, 25)), ("5/1", date(2026, 1, 5)),
    ("2026-12-25", date(2026, 12, 25)), ("31/02/2026", None), ("tomorrow", None), ("12/13/2026", None),
])
def test_dates_are_read_day_first(text, expected):
    assert parse_date(text, date(2026, 11, 22)) == expected


def test_quick_dates_count_from_today_in_the_ward():
    from handlers.forms.case_forms import COMMITMENT_FORM

    result = engine.start(COMMITMENT_FORM, "tok", CTX, {})
    result = say(result, COMMITMENT_FORM, "Dỡ tường")
    assert "In 7 days (29/11)" in str(result.replies[0].buttons)  # today is 22/11 in Hanoi
    assert press(result, COMMITMENT_FORM, "In 7 days").answers["check_on"] == "2026-11-29"
    assert "must be between" in say(result, COMMITMENT_FORM, "22/11/2026").replies[0].text  # not in the future


def test_long_labels_are_shortened_to_fit_and_catalog_labels_fit_as_they_are():
    choice = Choice("🤝 " + "Tổ hòa giải " * 10, "x")
    assert len(choice.label) == MAX_LABEL_CHARS and choice.label.endswith("…")
    for lang in ("vi", "en"):
        labels = {k: v for k, v in load_catalog(lang).items() if k.startswith(("staff.action.", "actions.intervention."))}
        assert labels and all(len(v) <= MAX_LABEL_CHARS for v in labels.values())
