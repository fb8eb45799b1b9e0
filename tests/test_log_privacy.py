"""No user text in the logs, at any level, under fwbot's default logging (bot/cli/logs.py).

slack_sdk's block models log a block they do not know *whole* at WARNING ("Unknown block
detected and skipped ({... 'text': ...})"); the bot parses a message's blocks when it marks a
nudge item done (the nudge as ``conversations.history`` returns it, whose blocks may hold
anything Slack or a client put there). The test drives that path through the real app: a
*No change* pressed on a nudge DM holding a block type slack_sdk does not know, with the
capture at DEBUG."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.cli.logs import configure_logging
from bot.slack.ids import ACTION_PROGRESS_NO_CHANGE
from tests.test_slack_progress import initiative, press, send_nudge

USER_TEXT = "Secret-user-words-Zq81 about the Lagos office"


@pytest.fixture
def fwbot_logging() -> Iterator[None]:
    """fwbot's default logging config, undone afterwards (the levels and the record factory)."""
    names = ["", "slack_sdk", "slack_bolt", *logging.Logger.manager.loggerDict]
    levels = {name: logging.getLogger(name).level for name in names}
    factory = logging.getLogRecordFactory()
    configure_logging()
    try:
        yield
    finally:
        logging.setLogRecordFactory(factory)
        for name in [*logging.Logger.manager.loggerDict, ""]:
            logging.getLogger(name).setLevel(levels.get(name, logging.NOTSET))


def test_an_unknown_block_in_a_nudge_logs_no_user_text(
    slack_bot, fwbot_logging: None, caplog: pytest.LogCaptureFixture
) -> None:
    bot = slack_bot
    item = initiative(bot, f"Alpha {USER_TEXT}", status="at_risk", percent=30)
    channel, _ = send_nudge(bot, "U1", item)
    # What conversations.history returns from now on: the nudge plus a block slack_sdk does
    # not know, carrying what a user wrote.
    unknown = {
        "type": "fancy_future_block",
        "block_id": "x1",
        "text": {"type": "mrkdwn", "text": USER_TEXT},
    }
    with bot.api.workspace.lock:  # the message as Slack holds it (the bot reads it there)
        bot.api.workspace.messages.channels[channel][-1]["blocks"].append(unknown)
    stored = bot.api.messages(channel)[-1]
    with caplog.at_level(logging.DEBUG):
        press(bot, ACTION_PROGRESS_NO_CHANGE, str(item), channel=channel, message=stored)
        bot.api.wait_for("chat.update")
        bot.drain()
    assert bot.progress.store.updates(item)[0].no_change  # the path ran to its end
    records = caplog.records
    assert any(r.name.startswith("slack_sdk.models") for r in records), (
        "the unknown block is still reported (without its content)"
    )
    leaked = [
        f"{r.name} {r.levelname}: {r.getMessage()[:200]}"
        for r in records
        if "Zq81" in r.getMessage() or "Lagos" in r.getMessage() or "Zq81" in (r.exc_text or "")
    ]
    assert not leaked, leaked
