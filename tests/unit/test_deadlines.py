"""Deadline rules: the legal defaults, choosing a rule, due and reminder times, ward overrides."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from handlers.domain.calendar import WorkCalendar
from handlers.domain.deadlines import MEDIATION_RISK, WARD_PRACTICE, Rule, due_at, remind_at, rule_for
from handlers.domain.workflow import INTERVENTIONS, STEPS
from scheduler.rules import RulesError, load_calendar, load_rules

VN = timezone(timedelta(hours=7))
CAL = WorkCalendar()
RULES = load_rules()
BY_ID = {rule.id: rule for rule in RULES}


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN).astimezone(UTC)


def rule(**fields) -> Rule:
    base = {"id": "r", "kind": "dispute", "step": 1, "limit": 1, "unit": "days", "source": "s", "note": "n"}
    return Rule(**(base | fields))


# --- every time limit of DOMAIN.md, with its source -----------------------------------------

@pytest.mark.parametrize(("rule_id", "kind", "step", "limit", "unit", "source"), [
    ("dispute.resolve.mediation", "dispute", 4, 3, "days", "Luật Hòa giải ở cơ sở 2013, Điều 20.2"),
    ("dispute.mediation_risk", "dispute", 4, 2, "hours", "Điều 10.4–10.5, Điều 15.4"),
    ("tipoff.receive", "tipoff", 1, 2, "hours", "Bộ luật Tố tụng hình sự 2015, Điều 145–146"),
    ("tipoff.transfer.urgent", "tipoff", 2, 24, "hours", "01/2017 (sửa đổi năm 2021), Điều 8.5a"),
    ("tipoff.transfer", "tipoff", 2, 7, "days", "01/2017 (sửa đổi năm 2021), Điều 8.5b"),
    ("tipoff.decide", "tipoff", 4, 20, "days", "Bộ luật Tố tụng hình sự 2015, Điều 147"),
    ("tipoff.inform", "tipoff", 5, 3, "days", "Điều 14.3"),
    ("denunciation.accept", "denunciation", 1, 7, "working_days", "Luật Tố cáo 2018, Điều 24.1"),
    ("denunciation.resolve", "denunciation", 4, 30, "days", "Luật Tố cáo 2018, Điều 30"),
    ("complaint.accept", "complaint", 1, 10, "days", "Luật Khiếu nại 2011, Điều 27"),
    ("complaint.resolve", "complaint", 4, 30, "days", "Luật Khiếu nại 2011, Điều 28"),
    ("petition.reply", "petition", 1, 10, "working_days", "Luật Tiếp công dân 2013, Điều 28.1"),
    ("group_report.monthly", "group_report", None, 20, "day_of_month", "trước ngày 20 hàng tháng"),
])
def test_every_legal_time_limit_is_a_default_rule(rule_id, kind, step, limit, unit, source):
    found = BY_ID[rule_id]
    assert (found.kind, found.step, found.limit, found.unit) == (kind, step, limit, unit)
    assert source in found.source


def test_the_sources_users_can_check():
    sources = " | ".join(rule.source for rule in RULES)
    for article in ("Điều 20.2", "Điều 145–146", "Điều 8.5a", "Điều 8.5b", "Điều 147", "Điều 14.3",
                    "Điều 24.1", "Điều 30", "Điều 27", "Điều 28 ", "Điều 28.1", "Điều 10.4"):
        assert article in sources + " ", article


def test_every_rule_says_what_it_means_and_why():
    for each in RULES:
        assert each.note and each.source, each.id
    practice = {each.id for each in RULES if each.source == WARD_PRACTICE}
    assert practice == {"dispute.classify", "dispute.classify.urgent", "dispute.verify", "dispute.plan",
                        "dispute.resolve", "dispute.monitor"}


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("urgent", [False, True])
def test_a_dispute_has_a_due_time_at_every_open_step(step, urgent):
    for intervention in (None, *INTERVENTIONS):
        found = rule_for(RULES, kind="dispute", step=step, urgent=urgent, intervention=intervention)
        assert found is not None, (step, urgent, intervention)
        assert found.step == step
        due_at(found, local(2026, 6, 8), CAL)


# --- choosing a rule ------------------------------------------------------------------------

def test_urgent_classify_beats_classify():
    assert rule_for(RULES, kind="dispute", step=1, urgent=True).id == "dispute.classify.urgent"
    assert rule_for(RULES, kind="dispute", step=1, urgent=False).id == "dispute.classify"


def test_mediation_resolve_beats_resolve():
    assert rule_for(RULES, kind="dispute", step=4, intervention="mediation").id == "dispute.resolve.mediation"
    assert rule_for(RULES, kind="dispute", step=4, urgent=True, intervention="mediation").id == \
        "dispute.resolve.mediation"
    assert rule_for(RULES, kind="dispute", step=4, intervention="legal_advice").id == "dispute.resolve"


def test_an_event_rule_matches_only_with_its_event():
    found = rule_for(RULES, kind="dispute", step=4, intervention="mediation", event=MEDIATION_RISK)
    assert found.id == "dispute.mediation_risk"
    assert rule_for(RULES, kind="dispute", step=4, event=MEDIATION_RISK).id == "dispute.resolve"


def test_urgent_tipoffs_are_transferred_within_24_hours():
    assert rule_for(RULES, kind="tipoff", step=2, urgent=True).id == "tipoff.transfer.urgent"
    assert rule_for(RULES, kind="tipoff", step=2).id == "tipoff.transfer"


def test_a_step_rule_beats_an_any_step_rule_and_ties_go_to_the_first():
    rules = [rule(id="any", step=None, when={"urgent": True}), rule(id="one", step=2),
             rule(id="two", step=2)]
    assert rule_for(rules, kind="dispute", step=2, urgent=True).id == "one"
    assert rule_for(rules, kind="dispute", step=3, urgent=True).id == "any"
    assert rule_for(rules, kind="dispute", step=3) is None
    assert rule_for(rules, kind="tipoff", step=2) is None


# --- due and reminder times -----------------------------------------------------------------

def test_due_times_of_the_defaults():
    friday = local(2026, 6, 5, 10)
    assert due_at(BY_ID["dispute.classify"], friday, CAL) == local(2026, 6, 8, 17)
    assert due_at(BY_ID["dispute.classify.urgent"], friday, CAL) == local(2026, 6, 5, 12)
    assert due_at(BY_ID["dispute.resolve.mediation"], friday, CAL) == local(2026, 6, 8, 17)
    assert due_at(BY_ID["dispute.verify"], local(2027, 2, 3), CAL) == local(2027, 2, 17, 17)
    assert due_at(BY_ID["group_report.monthly"], friday, CAL) == local(2026, 6, 19, 17)


def test_reminded_one_working_day_before():
    monday = local(2026, 6, 8, 10)
    due = due_at(BY_ID["dispute.verify"], monday, CAL)
    assert due == local(2026, 6, 15, 17)
    assert remind_at(BY_ID["dispute.verify"], due, CAL, start=monday) == local(2026, 6, 12, 17)


def test_never_reminded_before_the_start_but_when_due():
    evening = local(2026, 6, 8, 18)
    due = due_at(BY_ID["dispute.classify"], evening, CAL)
    assert due == local(2026, 6, 9, 17)
    assert remind_at(BY_ID["dispute.classify"], due, CAL, start=evening) == due
    morning = local(2026, 6, 8, 9)
    assert remind_at(BY_ID["dispute.classify"], due, CAL, start=morning) == local(2026, 6, 8, 17)


def test_hour_rules_are_reminded_when_due():
    start = local(2026, 6, 8, 10)
    urgent = BY_ID["dispute.classify.urgent"]
    due = due_at(urgent, start, CAL)
    assert remind_at(urgent, due, CAL, start=start) == due
    assert remind_at(urgent, due, CAL) == due


def test_a_reminder_skips_tet():
    due = due_at(BY_ID["dispute.verify"], local(2027, 2, 3), CAL)
    assert remind_at(BY_ID["dispute.verify"], due, CAL) == local(2027, 2, 16, 17)


# --- a ward's override file -----------------------------------------------------------------

def write(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


OVERRIDE = """
rules:
  - id: dispute.verify
    kind: dispute
    step: 2
    limit: 7
    unit: working_days
    source: "Quyết định của UBND phường"
    note: Verification takes longer here.
  - id: dispute.verify.urgent
    kind: dispute
    step: 2
    when: {urgent: true}
    limit: 1
    unit: working_days
    source: "Thực tiễn phường (mặc định, có thể đổi)"
    note: Urgent disputes are verified the next working day.
    remind_before_days: 0
  - id: dispute.monitor
    disabled: true
"""


def test_an_override_replaces_adds_and_disables(tmp_path):
    rules = load_rules(write(tmp_path, OVERRIDE))
    ids = [each.id for each in rules]
    assert ids.index("dispute.verify") == [each.id for each in RULES].index("dispute.verify")
    assert ids[-1] == "dispute.verify.urgent"
    assert "dispute.monitor" not in ids
    assert len(rules) == len(RULES)
    assert rule_for(rules, kind="dispute", step=2).limit == 7
    assert rule_for(rules, kind="dispute", step=2).source == "Quyết định của UBND phường"
    assert rule_for(rules, kind="dispute", step=2, urgent=True).id == "dispute.verify.urgent"
    assert rule_for(rules, kind="dispute", step=5) is None
    assert load_rules() == RULES  # the defaults are untouched


def test_an_empty_override_changes_nothing(tmp_path):
    assert load_rules(write(tmp_path, "")) == RULES
    assert load_rules(write(tmp_path, "rules: []\n")) == RULES


@pytest.mark.parametrize(("text", "expected"), [
    ("rules:\n  - {id: dispute.verify, kind: dispute, step: 2, limit: 7, unit: weeks, source: s, note: n}",
     "rule 'dispute.verify' (#1): unit: 'weeks' is not one of hours, days, working_days, day_of_month"),
    ("rules:\n  - {id: x.y, kind: dispute, step: 2, limit: 7, unit: days, note: n}",
     "rule 'x.y' (#1): source: Field required"),
    ("rules:\n  - {id: x.y, kind: dispute, step: 2, limit: '7', unit: days, source: s, note: n}",
     "rule 'x.y' (#1): limit: Input should be a valid integer"),
    ("rules:\n  - {id: x.y, kind: dispute, step: 2, limit: 0, unit: days, source: s, note: n}",
     "rule 'x.y' (#1): limit: Input should be greater than or equal to 1"),
    ("rules:\n  - {id: x.y, kind: feud, step: 2, limit: 1, unit: days, source: s, note: n}",
     "rule 'x.y' (#1): kind: 'feud' is not one of"),
    ("rules:\n  - {id: x.y, kind: dispute, step: 9, limit: 1, unit: days, source: s, note: n}",
     "rule 'x.y' (#1): step: must be one of 1, 2, 3, 4, 5 or null"),
    ("rules:\n  - {id: x.y, kind: dispute, step: 2, when: {urgnet: true}, limit: 1, unit: days, "
     "source: s, note: n}",
     "rule 'x.y' (#1): when: 'urgnet' is not one of urgent, intervention, event"),
    ("rules:\n  - {id: x.y, kind: dispute, step: 4, when: {intervention: prayer}, limit: 1, unit: days, "
     "source: s, note: n}", "'prayer' is not one of mediation"),
    ("rules:\n  - {id: x.y, kind: dispute, step: 2, limit: 1, unit: days, source: s, note: n, colour: red}",
     "rule 'x.y' (#1): colour: Extra inputs are not permitted"),
    ("rules:\n  - {id: x.y, kind: group_report, step: null, limit: 31, unit: day_of_month, "
     "source: s, note: n}", "rule 'x.y' (#1): limit: a day_of_month limit must be 1..28"),
    ("rules:\n  - {id: no.such, disabled: true}", "rule 'no.such' is disabled but no such rule exists"),
    ("rules:\n  - {id: dispute.monitor, disabled: true}\n  - {id: dispute.monitor, disabled: true}",
     "rule 'dispute.monitor' appears twice"),
    ("rules:\n  - {id: my.verify, kind: dispute, step: 2, limit: 7, unit: days, source: s, note: n}",
     "rules 'dispute.verify' and 'my.verify' both apply to dispute step 2"),
    ("rules:\n  - id: x\n    limit: [", "not valid YAML at line"),
    ("- {id: x}", "expected a mapping with the keys 'rules'"),
    ("rules:\n  - just a string", "rule #1: expected a mapping of fields"),
])
def test_a_bad_override_names_the_file_the_rule_and_the_field(tmp_path, text, expected):
    path = write(tmp_path, text, "ward-rules.yaml")
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert expected in message, message


def test_a_missing_override_file_is_named(tmp_path):
    with pytest.raises(RulesError, match="missing.yaml: cannot read"):
        load_rules(tmp_path / "missing.yaml")


# --- the ward's calendar file ---------------------------------------------------------------

def test_days_off_from_a_yaml_list(tmp_path):
    path = write(tmp_path, "- 2026-06-08\n- '2026-06-09'\n- {date: 2026-06-10, reason: Lễ hội phường}\n",
                 "days_off.yaml")
    calendar = load_calendar("Asia/Ho_Chi_Minh", path)
    assert calendar.days_off == {date(2026, 6, 8), date(2026, 6, 9), date(2026, 6, 10)}
    assert calendar.add_working_days(local(2026, 6, 5), 1) == local(2026, 6, 11, 17)


def test_days_off_from_a_yaml_mapping_and_a_csv(tmp_path):
    assert load_calendar(days_off_file=write(tmp_path, "days_off:\n  - 2026-06-08\n", "d.yml")).days_off == \
        {date(2026, 6, 8)}
    csv_file = write(tmp_path, "date,reason\n2026-06-08,Lễ hội\n\n# later\n2026-06-09\n", "d.csv")
    assert load_calendar(days_off_file=csv_file).days_off == {date(2026, 6, 8), date(2026, 6, 9)}


def test_no_days_off_file_means_the_national_calendar():
    assert load_calendar() == WorkCalendar()


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("d.csv", "date\n2026-06-08\n08/06/2026\n", "d.csv: line 3: '08/06/2026' is not a date"),
    ("d.yaml", "- 2026-06-08\n- 20260608\n", "d.yaml: day #2: 20260608 is not a date"),
    ("d.yaml", "days: [2026-06-08]\n", "d.yaml: expected a list of days off"),
])
def test_a_bad_days_off_file_names_the_line(tmp_path, name, text, expected):
    with pytest.raises(RulesError, match=re.escape(expected)):
        load_calendar(days_off_file=write(tmp_path, text, name))


def test_an_unknown_zone_is_refused():
    with pytest.raises(RulesError, match="unknown time zone 'Asia/Hanoi_City'"):
        load_calendar("Asia/Hanoi_City")


def test_the_escalation_after_overdue_is_the_wards_when_its_file_has_one(tmp_path):
    from scheduler.rules import load_escalation

    assert load_escalation() == (("officers", 1), ("head", 1))
    assert load_escalation(write(tmp_path, "rules: []\n")) == (("officers", 1), ("head", 1))  # none: the defaults
    assert load_escalation(write(tmp_path, "escalation:\n  - {to: head, after_working_days: 2}\n")) == (("head", 2),)
    assert load_escalation(write(tmp_path, "escalation: []\n")) == ()
    for bad, message in (("escalation:\n  - {to: boss, after_working_days: 1}\n", "step 1: to: 'boss' is not one of"),
                         ("escalation:\n  - {to: head, after_working_days: -1}\n", "step 1: after_working_days"),
                         ("escalation:\n  - {to: head}\n", "step 1: after_working_days"),
                         ("escalation: head\n", "'escalation' must be a list"),
                         ("escalate: []\n", "optionally, 'escalation'")):
        with pytest.raises(RulesError, match=message):
            load_escalation(write(tmp_path, bad))
