"""The monthly update's settings reach the core, and a wrong value names its variable."""

import pytest
from pydantic import ValidationError

from bot.bootstrap import core_config
from bot.config import load_settings


def test_the_monthly_settings_reach_the_core():
    config = core_config(load_settings(monthly_first_day=1, monthly_due_day=25, monthly_reminder_days="20, 18"))
    assert (config.monthly_first_day, config.monthly_due_day, config.monthly_reminder_days) == (1, 25, (18, 20))
    assert core_config(load_settings(monthly_reminder_days="off")).monthly_reminder_days == ()
    assert core_config(load_settings()).monthly_reminder_days == (15, 18, 19)


@pytest.mark.parametrize("bad", ["31", "0", "15;18", "soon"])
def test_bad_reminder_days_are_refused_naming_the_variable(bad):
    with pytest.raises(ValidationError, match="HOAGIAI_MONTHLY_REMINDER_DAYS"):
        load_settings(monthly_reminder_days=bad)
