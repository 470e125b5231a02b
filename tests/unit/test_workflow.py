"""The 5-step workflow and who may do what: every move, every refusal, every scope."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from handlers.domain import access
from handlers.domain import workflow as wf
from handlers.domain.model import Case
from handlers.domain.roles import Actor, Membership
from handlers.domain.workflow import Facts, WorkflowError

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc)
GROUP, OTHER_GROUP, TEAM, DEPT, POLICE_UNIT = 11, 12, 21, 31, 41


def case(**changes) -> Case:
    base = Case(id=1, code="HG-2026-000001", kind="dispute", field="land", status="new", step=1,
                urgent=False, summary="Tranh chấp ranh giới", group_unit_id=GROUP, reporter_id=100,
                created_at=NOW, updated_at=NOW, version=1)
    return replace(base, **changes)


def apply(c: Case, change: wf.Change) -> Case:
    return replace(c, **change.values)


def classified(**changes) -> Case:
    c = apply(case(), wf.classify(case(), field_="land", nature="civil", complexity="simple", urgent=False,
                                  people_count=2))
    return replace(c, **changes)


def error_key(call) -> str:
    with pytest.raises(WorkflowError) as info:
        call()
    return info.value.key


# --- the happy path, step by step -----------------------------------------------------------

def test_a_mediated_case_goes_through_the_five_steps_and_closes():
    c = case()
    c = apply(c, wf.classify(c, field_="land", nature="civil", complexity="complex", urgent=True, people_count=4))
    assert (c.step, c.status, c.nature, c.complexity, c.urgent) == (2, "verifying", "civil", "complex", True)
    c = apply(c, wf.complete_verification(c, Facts(parties=2, notes=1)))
    assert (c.step, c.status) == (3, "planning")
    c = apply(c, wf.choose_intervention(c, "mediation"))
    assert (c.step, c.status, c.intervention) == (4, "resolving", "mediation")
    wf.record_session(c)
    record = {"parties": "Ông A, bà B", "facts": "Ranh giới", "agreement": "Dời hàng rào 0,5 m",
              "execution": "Trước 30/12/2026"}
    c = apply(c, wf.record_outcome(c, "successful", Facts(sessions=1), record))
    assert (c.step, c.status, c.outcome, c.mediation_record) == (5, "monitoring", "successful", record)
    wf.add_commitment(c, "Dời hàng rào trước 30/12")
    c = apply(c, wf.close(c, Facts(commitments=1), NOW))
    assert (c.status, c.closed_at, c.is_closed) == ("closed", NOW, True)


def test_reopening_goes_back_to_verification_and_counts():
    c = classified(step=5, status="closed", intervention="mediation", outcome="successful", closed_at=NOW)
    change = wf.reopen(c, "Lại xảy ra tranh chấp")
    c2 = apply(c, change)
    assert (c2.step, c2.status, c2.closed_at, c2.intervention, c2.outcome, c2.reopen_count) == (
        2, "verifying", None, None, None, 1)
    assert change.event == "reopened" and change.data["reason"] == "Lại xảy ra tranh chấp"
    assert change.data["status"] == ["closed", "verifying"]


def test_a_transfer_needs_a_recipient_and_ends_in_monitoring():
    c = classified(step=3, status="planning")
    assert error_key(lambda: wf.choose_intervention(c, "transfer")) == "workflow.text_required"
    c = apply(c, wf.choose_intervention(c, "transfer", "TAND quận"))
    assert (c.step, c.outcome, c.transfer_to) == (5, "transferred", "TAND quận")
    assert apply(c, wf.close(c, Facts(), NOW)).status == "closed"


# --- refusals, each with its reason ---------------------------------------------------------

def test_classify_refuses_unknown_values():
    for kwargs in ({"nature": "weird"}, {"complexity": "huge"}, {"field_": "space"}, {"people_count": 0}):
        args = {"field_": "land", "nature": "civil", "complexity": "simple", "urgent": False,
                "people_count": 2} | kwargs
        assert error_key(lambda: wf.classify(case(), **args)) == "workflow.invalid_choice"


def test_verification_needs_parties_and_notes():
    c = classified()
    assert error_key(lambda: wf.complete_verification(c, Facts(notes=1))) == "workflow.need_parties"
    assert error_key(lambda: wf.complete_verification(c, Facts(parties=1))) == "workflow.need_notes"


def test_moves_out_of_order_are_refused():
    assert error_key(lambda: wf.complete_verification(case(), Facts(1, 1))) == "workflow.wrong_step"
    assert error_key(lambda: wf.choose_intervention(classified(), "mediation")) == "workflow.wrong_step"
    assert error_key(lambda: wf.record_outcome(classified(), "successful", Facts(sessions=1))) == "workflow.wrong_step"
    assert error_key(lambda: wf.close(classified(step=4), Facts(), NOW)) == "workflow.wrong_step"
    assert error_key(lambda: wf.reopen(classified(), "again")) == "workflow.not_closed"


def test_a_closed_case_refuses_every_change_but_reopening():
    c = classified(step=5, status="closed", closed_at=NOW)
    assert error_key(lambda: wf.add_note(c, "x")) == "workflow.closed"
    assert error_key(lambda: wf.take(c, 5, NOW)) == "workflow.closed"
    assert error_key(lambda: wf.classify(c, field_="land", nature="civil", complexity="simple", urgent=False,
                                         people_count=None)) == "workflow.closed"


def test_crime_allows_only_referral_or_transfer_and_referral_needs_crime():
    crime = classified(step=3, nature="crime")
    assert error_key(lambda: wf.choose_intervention(crime, "mediation")) == "workflow.crime_needs_referral"
    assert apply(crime, wf.choose_intervention(crime, "criminal_referral")).step == 4
    civil = classified(step=3)
    assert error_key(lambda: wf.choose_intervention(civil, "criminal_referral")) == "workflow.referral_needs_crime"


def test_signs_of_crime_found_during_mediation_send_the_case_back_to_planning():
    c = classified(step=4, status="resolving", intervention="mediation")
    change = wf.classify(c, field_="land", nature="crime", complexity="hotspot", urgent=True, people_count=8)
    c2 = apply(c, change)
    assert (c2.step, c2.status, c2.intervention, c2.nature) == (3, "planning", None, "crime")


def test_mediation_outcomes_need_a_session_and_success_needs_the_full_record():
    c = classified(step=4, status="resolving", intervention="mediation")
    assert error_key(lambda: wf.record_outcome(c, "unsuccessful", Facts())) == "workflow.need_session"
    assert apply(c, wf.record_outcome(c, "withdrawn", Facts())).outcome == "withdrawn"
    with pytest.raises(WorkflowError) as info:
        wf.record_outcome(c, "successful", Facts(sessions=1), {"parties": "A, B", "facts": " "})
    assert info.value.key == "workflow.record_incomplete"
    assert info.value.params["missing"] == "facts,agreement,execution"
    assert error_key(lambda: wf.record_outcome(c, "maybe", Facts(sessions=1))) == "workflow.invalid_choice"


def test_sessions_only_for_mediation_and_before_an_outcome():
    advice = classified(step=4, intervention="legal_advice")
    assert error_key(lambda: wf.record_session(advice)) == "workflow.not_mediation"
    done = classified(step=4, intervention="mediation", outcome="unsuccessful")
    assert error_key(lambda: wf.record_session(done)) == "workflow.outcome_recorded"


def test_closing_a_successful_mediation_needs_a_commitment():
    c = classified(step=5, status="monitoring", intervention="mediation", outcome="successful")
    assert error_key(lambda: wf.close(c, Facts(), NOW)) == "workflow.need_commitment"
    unsuccessful = replace(c, outcome="unsuccessful")
    assert apply(unsuccessful, wf.close(unsuccessful, Facts(), NOW)).is_closed


def test_acknowledge_take_and_assign():
    c = case()
    acked = apply(c, wf.acknowledge(c, 7, NOW))
    assert (acked.acknowledged_by, acked.acknowledged_at) == (7, NOW)
    assert error_key(lambda: wf.acknowledge(acked, 8, NOW)) == "workflow.already_acknowledged"
    taken = apply(c, wf.take(c, 8, NOW))
    assert (taken.assignee_id, taken.acknowledged_by) == (8, 8)
    assert error_key(lambda: wf.take(taken, 8, NOW)) == "workflow.already_assigned"
    to_team = apply(c, wf.assign(c, unit_id=TEAM))
    assert to_team.assigned_unit_id == TEAM
    assert error_key(lambda: wf.assign(to_team, unit_id=TEAM)) == "workflow.already_assigned"
    assert error_key(lambda: wf.assign(c)) == "workflow.invalid_choice"


def test_texts_are_required_and_bounded():
    assert error_key(lambda: wf.add_note(case(), "   ")) == "workflow.text_required"
    assert error_key(lambda: wf.add_note(case(), "x" * 1001)) == "workflow.text_too_long"
    assert error_key(lambda: wf.add_party(case(), name="A", role="boss", contact=None)) == "workflow.invalid_choice"


def test_events_record_from_and_to():
    c = case()
    change = wf.classify(c, field_="family", nature="civil", complexity="simple", urgent=False, people_count=None)
    assert change.event == "classified"
    assert change.data["field"] == ["land", "family"]
    assert change.data["step"] == [1, 2]
    assert "urgent" not in change.data  # unchanged values are not recorded


# --- access ---------------------------------------------------------------------------------

def actor(*memberships: tuple[str, int], person_id: int = 50) -> Actor:
    return Actor(person_id, tuple(Membership(role, unit) for role, unit in memberships))


OFFICER = actor(("officer", POLICE_UNIT))
HEAD = actor(("head", POLICE_UNIT))
LEADER = actor(("leader", GROUP))
OTHER_LEADER = actor(("leader", OTHER_GROUP))
MEDIATOR = actor(("mediator", TEAM))
MEMBER = actor(("member", DEPT))
ADMIN = actor(("admin", 1))
RESIDENT = actor()


def test_police_see_and_do_everything():
    c = classified(nature="crime")
    for who in (OFFICER, HEAD):
        assert all(access.can(who, a, c) for a in access.ACTIONS + (access.VIEW,))


def test_crime_cases_are_for_police_only():
    c = classified(nature="crime", assigned_unit_id=TEAM, lead_unit_id=DEPT)
    for who in (LEADER, MEDIATOR, MEMBER, ADMIN, RESIDENT):
        assert not access.can_view(who, c)


def test_each_scope_sees_only_its_own_cases():
    c = classified(assigned_unit_id=TEAM, lead_unit_id=DEPT)
    assert access.can_view(LEADER, c) and access.can_view(MEDIATOR, c) and access.can_view(MEMBER, c)
    elsewhere = classified(group_unit_id=OTHER_GROUP, assigned_unit_id=None, lead_unit_id=None)
    for who in (LEADER, MEDIATOR, MEMBER, ADMIN, RESIDENT):
        assert not access.can_view(who, elsewhere)
    assert access.can_view(OTHER_LEADER, elsewhere)
    assert not access.can_view(RESIDENT, c)  # a reporter's own view is /status, not the case card


def test_non_police_cannot_classify_plan_assign_close_or_read_history():
    c = classified(assigned_unit_id=TEAM, lead_unit_id=DEPT, intervention="mediation")
    for who in (LEADER, MEDIATOR, MEMBER):
        for action in (access.CLASSIFY, access.PLAN, access.ASSIGN, access.CLOSE, access.TAKE,
                       access.ACKNOWLEDGE, access.VERIFY, access.HISTORY):
            assert not access.can(who, action, c), (who, action)


def test_leaders_and_mediators_record_mediation_but_not_other_outcomes():
    mediation = classified(step=4, assigned_unit_id=TEAM, intervention="mediation")
    advice = replace(mediation, intervention="legal_advice")
    for who in (LEADER, MEDIATOR):
        assert access.can(who, access.SESSION, mediation) and access.can(who, access.OUTCOME, mediation)
        assert not access.can(who, access.OUTCOME, advice)
    assert not access.can(MEMBER, access.OUTCOME, mediation)
    assert access.can(LEADER, access.REOPEN, mediation) and not access.can(MEDIATOR, access.REOPEN, mediation)


def test_buttons_follow_role_and_step():
    new = case()
    assert access.available_actions(OFFICER, new) == (
        "acknowledge", "take", "classify", "note", "party", "assign", "history")
    at_resolve = classified(step=4, intervention="mediation")
    assert access.available_actions(LEADER, at_resolve) == ("note", "party", "session", "outcome")
    closed = classified(step=5, closed_at=NOW, intervention="mediation", outcome="successful")
    assert access.available_actions(LEADER, closed) == ("reopen",)
    assert access.available_actions(OFFICER, closed) == ("reopen", "history")
