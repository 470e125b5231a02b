"""The catalogs are complete: every key in Vietnamese and English, with the same placeholders,
and every key the code asks for exists."""

import re
import string
from pathlib import Path

import pytest

from handlers import case_history, checkins, reminders
from handlers.forms import monthly as monthly_form
from handlers.case_actions import QUICK_ACTIONS
from handlers.casework import LIST_FILTERS, _EVENT_KINDS
from handlers.domain import access
from handlers.forms.case_forms import CASE_FORMS
from handlers.domain import workflow
from handlers.domain.model import DISPUTE_FIELDS
from handlers.domain.roles import ROLES
from handlers.forms.dispute import PEOPLE_RANGES, SUMMARY_EDITABLE
from handlers.forms.dispute import ON_BEHALF_EDITABLE
from handlers.notify import RESIDENT_STATES
from handlers.forms.engine import UNSUPPORTED_KINDS
from handlers.i18n import LANGUAGES, CatalogTranslator, load_catalog

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = {lang: load_catalog(lang) for lang in LANGUAGES}
LITERAL_KEY = re.compile(r"""\b(?:ctx|conv|t|self\.t|conv\.t|translate)\(\s*["']([a-z_][a-z0-9_.+\-]*)["']""")
WORKFLOW_ERRORS = re.compile(r"""WorkflowError\(\s*["']([a-z_.]+)["']""")
INVITE_PROBLEMS = re.compile(r"""return ["'](invite\.[a-z_]+)["']""")
URGENCY_REASONS = ("danger_now", "weapon", "violence", "threat", "injury", "crowd", "fire", "abduction", "self_harm")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys():
    assert CATALOGS["vi"], "Vietnamese catalog is empty"
    assert set(CATALOGS["vi"]) == set(CATALOGS["en"])


@pytest.mark.parametrize("key", sorted(CATALOGS["vi"]))
def test_placeholders_match(key):
    assert placeholders(CATALOGS["vi"][key]) == placeholders(CATALOGS["en"][key])


def keys_used_in_code() -> set[str]:
    from handlers import tipoff_police  # the police side of tip-offs: its two forms' step keys

    keys = set()
    for folder in ("handlers", "bot", "scheduler"):
        for path in (ROOT / folder).rglob("*.py"):
            keys.update(LITERAL_KEY.findall(path.read_text(encoding="utf-8")))
    keys.update(f"field.{code}" for code in DISPUTE_FIELDS)
    keys.update(f"people.{code}" for code in PEOPLE_RANGES)
    keys.update(f"step.summary.edit.{name}" for name in SUMMARY_EDITABLE)
    keys.update(f"step.summary.edit.{name}" for name in ON_BEHALF_EDITABLE)
    keys.update(f"notify.status.{state}" for state in RESIDENT_STATES)
    keys.update(f"content.{kind}" for kind in UNSUPPORTED_KINDS)
    keys.update(f"urgency.{reason}" for reason in URGENCY_REASONS)
    keys.update(f"role.{role}" for role in ROLES)
    keys.update(f"staff.list.{key}" for key in LIST_FILTERS)
    keys.update(f"staff.action.{action}" for action in access.ACTIONS)
    keys.update(f"staff.done.{action}" for action in access.ACTIONS if action != access.HISTORY)
    assert set(QUICK_ACTIONS) <= set(access.ACTIONS)
    keys.update(f"actions.intervention.{code}" for code in workflow.INTERVENTIONS)
    keys.update(f"actions.party_role.{code}" for code in workflow.PARTY_ROLES)
    keys.update(f"actions.outcome_value.{code}" for code in (*workflow.OUTCOMES, workflow.TRANSFERRED))
    keys.update(f"history.column.{column}" for column in case_history.SHOWN)
    keys.update(("actions.answer.yes", "actions.answer.no"))
    for spec in (*CASE_FORMS, *tipoff_police.FORMS.values()):
        keys.update(key for step in spec.steps for key in (step.title_key, getattr(step, "prompt_key", None)) if key)
    keys.update(_EVENT_KINDS)
    keys.update(reminders.MESSAGE_KEYS)
    keys.update(f"checkins.answer.{answer}" for answer in checkins.ANSWERS.values())
    keys.update(f"monthly.{kind}.{name}" for kind in ("count", "ask") for name in monthly_form.COUNTS)
    keys.update(f"monthly.ask.{name}" for name in ("hot_spot", "mass_complaint", "people", "risk_note", "notes"))
    keys.update(f"monthly.risk.{name}" for name in ("hot_spot", "mass_complaint"))
    keys.update(f"workflow.step.{step}" for step in workflow.STEPS)
    keys.update(f"workflow.status.{status}" for status in (*workflow.STEP_STATUS.values(), workflow.CLOSED))
    keys.update(f"workflow.nature.{nature}" for nature in workflow.NATURES)
    keys.update(f"workflow.complexity.{complexity}" for complexity in workflow.COMPLEXITIES)
    keys.update(WORKFLOW_ERRORS.findall((ROOT / "handlers/domain/workflow.py").read_text(encoding="utf-8")))
    keys.update(INVITE_PROBLEMS.findall((ROOT / "handlers/domain/invites.py").read_text(encoding="utf-8")))
    keys.update(f"rollup.risk.{kind}" for kind in ("hot_spot", "mass_complaint"))  # handlers/report_output.py
    keys.add("rollup.nature.unclassified")
    return keys


def test_every_key_used_in_code_exists():
    used = keys_used_in_code()
    assert len(used) > 50
    missing = sorted(key for key in used if key not in CATALOGS["vi"])
    assert not missing


def test_translator_fills_placeholders_and_falls_back():
    t = CatalogTranslator()
    assert t("form.progress", "vi", current=2, total=8, title="X") == "Bước 2/8: X"
    assert t("form.progress", "en", current=2, total=8, title="X") == "Step 2/8: X"
    assert t("menu.report", "fr") == t("menu.report", "vi")


def test_no_key_is_defined_in_two_catalog_files():
    """Every .po file of a language is merged: a key defined twice would silently take one
    file's text (a part of the product could overwrite another's message)."""
    from babel.messages.pofile import read_po

    for lang in LANGUAGES:
        seen: dict[str, str] = {}
        for path in sorted((ROOT / "locales" / lang / "LC_MESSAGES").glob("*.po")):
            with path.open("rb") as handle:
                for message in read_po(handle, locale=lang):
                    if message.id:
                        assert str(message.id) not in seen, f"{message.id} in {seen[str(message.id)]} and {path.name}"
                        seen[str(message.id)] = path.name
