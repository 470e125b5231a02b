"""Routing a new case to its lead department: defaults by field, a ward's overrides, the police
as the fallback; and what a resident is told of each state of their case."""

from datetime import datetime, timezone

import pytest

from handlers import notify
from handlers.domain import workflow as wf
from handlers.domain.model import Case, Unit
from handlers.domain.routing import lead_department, lead_function, police_departments
from handlers.i18n import LANGUAGES, CatalogTranslator

WARD = Unit(1, "w", "Phường", "commune")
POLICE = Unit(2, "w-ca", "Công an phường", "department", 1, "police")
ECONOMIC = Unit(3, "w-kt", "Phòng Kinh tế, Hạ tầng và Đô thị", "department", 1, "economic")
CULTURE = Unit(4, "w-vhxh", "Phòng Văn hóa - Xã hội", "department", 1, "culture")
OFFICE = Unit(5, "w-vp", "Văn phòng HĐND-UBND", "department", 1, "office")
ALL = [POLICE, ECONOMIC, CULTURE, OFFICE]


@pytest.mark.parametrize(("field", "lead"), [
    ("land", ECONOMIC), ("construction", ECONOMIC), ("environment", ECONOMIC),
    ("family", CULTURE), ("labour", CULTURE),
    ("public_order", POLICE), ("civil", POLICE), ("other", POLICE),
])
def test_defaults_by_field(field, lead):
    assert lead_department(field, WARD, ALL) == lead


def test_a_ward_override_wins():
    ward = Unit(1, "w", "Phường", "commune", settings={"routing": {"other": "w-vp", "land": "w-vhxh"}})
    assert lead_department("other", ward, ALL) == OFFICE
    assert lead_department("land", ward, ALL) == CULTURE
    assert lead_department("family", ward, ALL) == CULTURE  # no override: the default


def test_an_override_naming_no_department_of_the_ward_falls_back_to_the_default():
    ward = Unit(1, "w", "Phường", "commune", settings={"routing": {"land": "gone"}})
    assert lead_department("land", ward, ALL) == ECONOMIC


def test_without_the_default_department_the_police_lead():
    assert lead_function("land") == "economic"
    assert lead_department("land", WARD, [POLICE, OFFICE]) == POLICE
    assert lead_department("land", None, [POLICE]) == POLICE
    assert lead_department("land", WARD, [OFFICE]) is None
    assert lead_department("land", WARD, []) is None


def test_police_departments():
    assert police_departments(ALL) == [POLICE]


def case(**changes) -> Case:
    now = datetime(2026, 11, 22, tzinfo=timezone.utc)
    values = dict(id=1, code="HG-2026-000001", kind="dispute", field="land", status="new", step=1, urgent=False,
                  summary="x", group_unit_id=None, reporter_id=7, created_at=now, updated_at=now, version=1)
    return Case(**{**values, **changes})


def test_every_state_a_resident_sees_has_plain_words():
    t = CatalogTranslator()
    assert set(notify.RESIDENT_STATES) == {*wf.STEP_STATUS.values(), wf.CLOSED}
    for step in wf.STEPS:
        assert notify.resident_state(case(step=step, status=wf.STEP_STATUS[step])) == wf.STEP_STATUS[step]
    closed = case(step=5, status="closed", closed_at=datetime(2026, 12, 1, tzinfo=timezone.utc))
    assert notify.resident_state(closed) == wf.CLOSED
    for lang in LANGUAGES:
        texts = {notify.plain_state(t, lang, case(step=s)) for s in wf.STEPS} | {notify.plain_state(t, lang, closed)}
        assert len(texts) == 6 and not any(text.startswith("notify.") for text in texts)


def test_only_what_the_resident_sees_counts_as_a_change():
    before = case(step=2, status="verifying")
    assert not notify.visible_change(before, case(step=2, status="verifying", assignee_id=9, version=2))
    assert notify.visible_change(before, case(step=3, status="planning", version=2))
    closed = case(step=5, status="closed", closed_at=before.created_at)
    assert notify.visible_change(case(step=5, status="monitoring"), closed)
    assert notify.visible_change(closed, case(step=2, status="verifying", reopen_count=1))
