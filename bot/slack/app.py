"""The bolt app, settings-free: :mod:`bot.wiring.composition` builds it with a client and a
secret."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient

from ..slack_api.workspace import auth_test
from ..storage.work_store import WorkStore
from .deps import SlackDeps
from .durable import Inbox, receive_requests
from .features import Extensions, Feature, installed_features
from .listeners import align, feedback, home, progress, questions
from .middleware import count_requests
from .request_log import CarryContext

LISTENER_THREADS = 16


def build_app(
    deps: SlackDeps,
    *,
    client: WebClient,
    signing_secret: str | None,
    bot_user_id: str | None = None,
    plugins: Sequence[Feature] | None = None,
) -> App:
    """The app with every listener registered. ``bot_user_id`` (from ``auth.test``) lets
    listeners tell mentions of the bot apart; without it the app asks Slack at start.
    ``plugins``: more features, registered after the built-in ones through the same path;
    None: the installed ones (:func:`~bot.slack.features.installed_features`)."""
    logger = logging.getLogger("fwbot.slack.bolt")
    # bolt reads SLACK_BOT_TOKEN itself and warns that the client's token wins over it: the
    # client was built from that same variable, so that one warning says nothing here.
    logger.addFilter(_no_token_unused_warning)
    try:
        app = App(
            client=client,
            signing_secret=signing_secret or "",
            request_verification_enabled=bool(signing_secret),
            token_verification_enabled=bot_user_id is None,
            listener_executor=CarryContext(  # the request's log fields (request_log.py)
                ThreadPoolExecutor(
                    max_workers=LISTENER_THREADS, thread_name_prefix="fwbot-listener"
                )
            ),
            logger=logger,
        )
    finally:
        logger.removeFilter(_no_token_unused_warning)
    if bot_user_id is None:
        bot_user_id = auth_test(client).get("user_id")
    if deps.inbox is None:
        deps.inbox = Inbox(WorkStore(deps.store.database))
    app.use(count_requests(deps.metrics))
    app.use(receive_requests(deps.inbox, deps.plans, deps.metrics))
    if plugins is None:
        plugins = installed_features()
    features = [*built_in_features(deps, bot_user_id), *plugins]
    deps.extensions = Extensions.of(features, deps)
    for feature in features:
        feature.register(app, deps)
    return app


def built_in_features(deps: SlackDeps, bot_user_id: str | None) -> list[Feature]:
    """The app's features, registered in this order through the same path a plug-in would
    take; progress tracking when it is on."""
    features = [questions.feature(bot_user_id), align.FEATURE, home.FEATURE, feedback.FEATURE]
    if deps.progress is not None:
        features.append(progress.FEATURE)
    return features


def _no_token_unused_warning(record: logging.LogRecord) -> bool:
    return record.getMessage() != warning_client_prioritized_and_token_skipped()
