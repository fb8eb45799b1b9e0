"""`fwbot serve`: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP on --port."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys

from .services import Services
from .settings import MissingSetting

log = logging.getLogger("fwbot")


def serve(services: Services, *, host: str, port: int) -> int:
    from .slack.server import HTTPServer, SlackWSGI

    settings = services.settings
    try:
        settings.require_slack()
    except MissingSetting as exc:
        print(f"fwbot serve: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    # What a setting can get wrong fails first, in one line, before the model loads: the
    # token at Slack, then the database (migrated here); UnusableSetting, see cli_errors.
    services.slack_identity  # noqa: B018
    services.database  # noqa: B018
    services.searcher  # noqa: B018 — load the model and the index before taking requests
    # Acks wait for the GIL behind answers being computed: hand it over more often.
    sys.setswitchinterval(0.001)
    app = services.slack_app()
    scheduler = _start_scheduler(services)
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        http = HTTPServer(SlackWSGI(None, services.metrics, services.health), host=host,
                          port=port).start()
        log.info("fwbot: Socket Mode; health and metrics on http://%s:%d", host, http.port)
        SocketModeHandler(app, settings.slack_app_token).start()
        return 0
    front = SlackWSGI(app, services.metrics, services.health,
                      signing_secret=settings.slack_signing_secret)
    http = HTTPServer(front, host=host, port=port)
    log.info("fwbot: listening on http://%s:%d/slack/events (health /healthz, metrics /metrics)",
             host, http.port)
    print(f"fwbot serving on port {http.port}", flush=True)

    def _stop(*_: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM: already stopping
        raise _Stopping

    signal.signal(signal.SIGTERM, _stop)
    with contextlib.suppress(KeyboardInterrupt, _Stopping):
        http.serve_forever()
    log.info("fwbot: stopping; finishing the work already acknowledged")
    http.stop()
    if scheduler is not None:
        scheduler.stop()
    services.work_pool.shutdown(wait=True)
    return 0


def _start_scheduler(services: Services):  # -> bot.progress.scheduler.Scheduler | None
    """Nudges and the digest, a pass a minute (FWBOT_SCHEDULER=false leaves them to cron)."""
    if not services.settings.scheduler:
        log.info("fwbot: scheduler off (FWBOT_SCHEDULER=false); run `fwbot nudge run` from cron")
        return None
    from .progress.scheduler import Scheduler

    scheduler = Scheduler(lambda now: services.progress_pass(now),
                          interval=services.settings.scheduler_interval)
    scheduler.start()
    log.info("fwbot: scheduler on, a pass every %.0f s", scheduler.interval)
    return scheduler


class _Stopping(Exception):
    """Raised by the SIGTERM handler to leave the server loop."""
