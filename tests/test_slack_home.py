"""App Home, dedupe across replicas on PostgreSQL, and the small pure helpers of the Slack app."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

import pytest

from bot.slack.incoming import mentions, plain_text
from bot.storage.work_store import WorkStore
from bot.wiring.settings import MissingSetting, Settings
from local_slack.limits import MAX_VIEW_BLOCKS
from tests.db_fixtures import claim_only
from tests.slack_fixtures import close_bot, make_bot


def test_home_shows_the_framework_and_my_recent_alignments(slack_bot):
    r = slack_bot.requests
    _, url = slack_bot.command(
        "Train border officers to use the stolen passport database", user="U1"
    )
    slack_bot.responses(url)
    slack_bot.send(r.event(r.app_home_opened_event("U1")))
    (published,) = slack_bot.api.wait_for("views.publish")
    view = published.params["view"]
    assert published.params["user_id"] == "U1" and view["type"] == "home"
    assert len(view["blocks"]) <= MAX_VIEW_BLOCKS
    body = json.dumps(view)
    fw = slack_bot.deps.framework
    assert all(g.title[:40] in body for g in fw.goals)
    assert "stolen passport database" in body  # my recent alignment
    # Someone else's home does not show my alignment.
    slack_bot.send(r.event(r.app_home_opened_event("U2")))
    other = slack_bot.api.wait_for("views.publish", count=2)[1]
    assert "stolen passport database" not in json.dumps(other.params["view"])


def test_a_plugin_feature_adds_its_home_section_through_the_same_path(
    assistant, fake_slack, tmp_path
):
    """Progress tracking's "Your initiatives" and a plug-in's section both reach App Home
    through the ``home_section`` extension point; the built-in order comes first."""
    from slack_sdk.models.blocks import SectionBlock

    from bot.slack.features import Feature
    from bot.storage.db import Database

    db = Database(f"sqlite:///{tmp_path / 'plugin.db'}")
    db.migrate()
    notes = Feature(
        "notes",
        lambda app, deps: None,
        home_section=lambda deps: lambda user: [SectionBlock(text=f"*Team notes* for {user}")],
    )
    bot = make_bot(assistant, db, fake_slack, plugins=[notes])
    try:
        assert bot.deps.extensions is not None
        assert bot.deps.extensions.names[-2:] == ("progress", "notes")
        r = bot.requests
        bot.send(r.event(r.app_home_opened_event("U1")))
        (published,) = bot.api.wait_for("views.publish")
        view = json.dumps(published.params["view"])
        assert "Your initiatives" in view and "Team notes* for U1" in view
        assert view.index("Your initiatives") < view.index("Team notes")
    finally:
        close_bot(bot)
        db.dispose()


def _install_plugin(root: Path, name: str, module_source: str) -> None:
    """A distribution named ``name`` on ``root`` (put on sys.path) whose ``fwbot.features``
    entry point is ``<name>_plugin:FEATURE``: what pip installing a plug-in package leaves."""
    (root / f"{name}_plugin.py").write_text(module_source, encoding="utf-8")
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[fwbot.features]\n{name} = {name}_plugin:FEATURE\n", encoding="utf-8"
    )


def test_an_installed_plugin_is_found_through_its_entry_point(
    assistant, fake_slack, tmp_path, monkeypatch
):
    """A package declaring a ``fwbot.features`` entry point is registered by the app with no
    code change in fwbot, after the built-in features; its App Home section shows."""
    from bot.storage.db import Database

    _install_plugin(
        tmp_path,
        "teamnotes",
        "from slack_sdk.models.blocks import SectionBlock\n"
        "from bot.slack.features import Feature\n"
        "FEATURE = Feature('teamnotes', lambda app, deps: None, home_section=lambda deps: "
        "lambda user: [SectionBlock(text=f'*Team notes* for {user}')])\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    db = Database(f"sqlite:///{tmp_path / 'plugin.db'}")
    db.migrate()
    bot = make_bot(assistant, db, fake_slack, plugins=None)
    try:
        assert bot.deps.extensions is not None
        assert bot.deps.extensions.names[-1] == "teamnotes"
        bot.send(bot.requests.event(bot.requests.app_home_opened_event("U1")))
        (published,) = bot.api.wait_for("views.publish")
        assert "Team notes* for U1" in json.dumps(published.params["view"])
    finally:
        close_bot(bot)
        db.dispose()


def test_a_broken_plugin_is_one_line_naming_it(tmp_path, monkeypatch):
    from bot.slack.features import PluginError, installed_features

    _install_plugin(tmp_path, "brokenplug", "FEATURE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        PluginError, match=r"'brokenplug' \(brokenplug_plugin:FEATURE.*not a Feature"
    ):
        installed_features()


def test_two_features_cannot_both_handle_tracking(assistant, fake_slack, tmp_path):
    from bot.slack.features import Feature
    from bot.storage.db import Database

    db = Database(f"sqlite:///{tmp_path / 'plugin.db'}")
    db.migrate()
    rival = Feature(
        "other-tracker", lambda app, deps: None, track=lambda deps: lambda body, alignment_id: None
    )
    try:
        with pytest.raises(ValueError, match="two features handle tracking"):
            make_bot(assistant, db, fake_slack, plugins=[rival])
    finally:
        db.dispose()


def test_messages_tab_does_not_publish_home(slack_bot):
    r = slack_bot.requests
    slack_bot.send(r.event(r.app_home_opened_event("U1", tab="messages")))
    slack_bot.drain()
    assert slack_bot.api.calls("views.publish") == []


def test_two_replicas_on_one_postgresql_reply_once(assistant, fake_slack, pg_schema_url):
    from bot.storage.db import Database

    db_a, db_b = Database(pg_schema_url), Database(pg_schema_url)
    db_a.migrate()
    db_b.migrate()  # a second replica starting: migrating again is a no-op
    a, b = make_bot(assistant, db_a, fake_slack), make_bot(assistant, db_b, fake_slack)
    req = a.requests.event(
        a.requests.app_mention_event(
            "<@UBOT> What does 1.2 say?", user="U1", channel="C1", ts="1.000001"
        ),
        event_id="EvR1",
    )
    retry = a.requests.event(
        a.requests.app_mention_event(
            "<@UBOT> What does 1.2 say?", user="U1", channel="C1", ts="1.000001"
        ),
        event_id="EvR1",
        retry_num=1,
    )
    threads = [
        threading.Thread(target=a.send, args=(req,)),
        threading.Thread(target=b.send, args=(retry,)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fake_slack.wait_for("chat.postMessage")
    a.drain()
    b.drain()
    assert len(fake_slack.calls("chat.postMessage")) == 1
    close_bot(a)
    close_bot(b)
    db_a.dispose()
    db_b.dispose()


# ---- pure helpers ------------------------------------------------------------------------


def test_plain_text_removes_the_bots_mention_and_unwraps_markup():
    text = (
        "<@UBOT> does <@U123|ana> care about <#C1|general> and "
        "<https://example.org|this link> &amp; &lt;tags&gt;?"
    )
    assert plain_text(text, bot_user_id="UBOT") == (
        "does @ana care about #general and this link & <tags>?"
    )
    assert plain_text("&amp;lt; stays literal") == "&lt; stays literal"
    assert plain_text(None) == "" and plain_text("<!here> hi") == "@here hi"
    assert mentions("hi <@UBOT>", "UBOT") and not mentions("hi <@U2>", "UBOT")


@pytest.mark.parametrize(
    "given", ["http://127.0.0.1:9/api", "http://127.0.0.1:9/api/", "http://127.0.0.1:9/api//"]
)
def test_slack_api_url_gets_one_trailing_slash(monkeypatch, given):
    monkeypatch.setenv("SLACK_API_URL", given)
    assert Settings(_env_file=None).slack.api_url == "http://127.0.0.1:9/api/"


def test_missing_slack_settings_name_the_variable(monkeypatch):
    for var in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(MissingSetting, match="SLACK_BOT_TOKEN"):
        Settings(_env_file=None).slack.require()
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    with pytest.raises(MissingSetting, match="SLACK_SIGNING_SECRET"):
        Settings(_env_file=None).slack.require()
    monkeypatch.setenv("SLACK_APP_TOKEN", "xoxb-wrong-kind")
    with pytest.raises(MissingSetting, match="SLACK_APP_TOKEN"):
        Settings(_env_file=None).slack.require()
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    Settings(_env_file=None).slack.require()  # Socket Mode needs no signing secret


def test_default_database_is_sqlite_in_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("FWBOT_DATA_DIR", str(tmp_path))
    assert Settings(_env_file=None).storage.database == f"sqlite:///{tmp_path / 'fwbot.db'}"


def test_event_claims_are_pruned_after_a_day(tmp_path):
    from datetime import UTC, datetime

    from bot.slack.durable import Inbox, receive_requests
    from bot.slack.metrics import Metrics
    from bot.storage.db import Database

    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.migrate()
    start = datetime(2026, 11, 1, 12, tzinfo=UTC)
    now = [start]
    inbox = Inbox(WorkStore(db), clock=lambda: now[0])
    middleware = receive_requests(inbox, {}, Metrics(), clock=lambda: now[0])

    class Req:
        headers: ClassVar[dict] = {}

    def event(event_id: str) -> bool:
        """True when the event went on to the listeners."""
        passed = []
        body = {
            "type": "event_callback",
            "event_id": event_id,
            "event": {"type": "app_mention", "user": "U1"},
        }
        middleware(Req(), body, {}, lambda: passed.append(1))
        return bool(passed)

    assert event("Ev1") and not event("Ev1")
    now[0] = start + timedelta(hours=2)
    assert not event("Ev1")  # a late retry within the day is still dropped
    now[0] = start + timedelta(days=1, hours=2)
    assert event("Ev2")  # the hourly prune ran first and removed Ev1's claim
    assert claim_only(db, "Ev1") == "new"


def test_channel_chatter_writes_no_event_claim(slack_bot):
    r = slack_bot.requests
    chatter = r.event(
        r.channel_message_event("lunch?", user="U1", channel="C1", ts="1.000009"), event_id="EvChat"
    )
    assert slack_bot.send(chatter).status == 200
    assert claim_only(slack_bot.store.database, "EvChat") == "new"  # nobody claimed it before
    dm = r.event(
        r.message_im_event("What does 1.1 say?", user="U1", channel="D1", ts="1.000010"),
        event_id="EvDM",
    )
    slack_bot.send(dm)
    assert claim_only(slack_bot.store.database, "EvDM") == "duplicate"  # answered events are kept
