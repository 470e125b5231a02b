"""Logs never carry the raw updates PTB fails to parse: they may hold a reporter's identity."""

import logging

from bot.cli import redact_raw_updates


def test_raw_update_data_is_withheld(caplog):
    logger = logging.getLogger("telegram.Bot")
    logger.addFilter(redact_raw_updates)
    try:
        with caplog.at_level(logging.CRITICAL, logger="telegram.Bot"):
            logger.critical("Error while parsing updates! Received data was %r", [{"from": {"phone": "0912345678"}}])
    finally:
        logger.removeFilter(redact_raw_updates)
    assert "0912345678" not in caplog.text
    assert "raw data withheld" in caplog.text
