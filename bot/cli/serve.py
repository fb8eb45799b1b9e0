"""`fwbot serve`: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP on --port."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from concurrent.futures import Executor, Future, wait

from ..wiring.composition import Services
from ..wiring.settings import UnusableSetting
from .logs import configure_logging

log = logging.getLogger("fwbot")


def serve(services: Services, *, host: str, port: int) -> int:
    from ..slack.http_server import HTTPServer
    from ..slack.server import SlackWSGI

    settings = services.settings
    settings.slack.require()  # MissingSetting: one line and exit 1 (bot/cli/errors.py)
    # INFO and up; no Slack payload (user text) in any record; text or JSON lines
    configure_logging(log_format=settings.runtime.log_format)
    # What a setting can get wrong fails first, in one line, before the model loads: the
    # token at Slack, then the database (migrated here); UnusableSetting, see bot/cli/errors.py.
    services.slack_identity  # noqa: B018
    services.database  # noqa: B018
    services.searcher  # noqa: B018 — load the model and the index before taking requests
    readiness = services.readiness()
    admin = _admin_listener(services, readiness)  # bound now: a port in use fails the start
    # Acks wait for the GIL behind answers being computed: hand it over more often.
    sys.setswitchinterval(0.001)
    work = _WorkPool(services.work_pool)
    services.work_pool = work  # before the app is wired with it
    app = services.slack_app()
    scheduler = _start_scheduler(services)
    recovery = _start_recovery(services)
    if settings.slack.socket_mode:
        return _serve_socket_mode(
            services, app, work, scheduler, recovery, readiness, admin, host=host, port=port
        )
    front = SlackWSGI(
        app,
        services.metrics,
        readiness,
        signing_secret=settings.slack.signing_secret,
        admin_token=settings.admin.token,
    )
    http = HTTPServer(front, host=host, port=port)
    stop = _StopSignal()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    _warm(readiness)
    if admin is not None:
        admin.start()
        _log_admin(admin)
    http.start()
    log.info(
        "fwbot: listening on http://%s:%d/slack/events (liveness /healthz, readiness /readyz)",
        host,
        http.port,
    )
    print(f"fwbot serving on port {http.port}", flush=True)
    while stop.name is None and http.running:
        time.sleep(0.1)  # the handler only sets a flag: this thread drives the stop
    if stop.name is None:
        log.error("fwbot: the HTTP server stopped by itself; stopping")
    recovery.stop()
    readiness.stopping = True
    grace = settings.runtime.stop_grace
    return _shut_down(
        app,
        http,
        scheduler,
        work,
        stop.name or "server loop ended",
        grace=grace,
        then=lambda: _stop_admin(admin),
        waiting=lambda: _report_waiting(services),
    )


def _admin_listener(services: Services, readiness):  # -> bot.slack.server.HTTPServer | None
    """The admin listener (FWBOT_ADMIN_HOST / FWBOT_ADMIN_PORT): /metrics and /readyz with
    each failed check's error; None when FWBOT_ADMIN_PORT=off. Bound, not started."""
    from ..slack.http_server import HTTPServer
    from ..slack.server import SlackWSGI

    settings = services.settings.admin
    if settings.port is None:
        log.info("fwbot: admin listener off (FWBOT_ADMIN_PORT=off): no /metrics")
        return None
    wsgi = SlackWSGI(None, services.metrics, readiness, admin=True)
    try:
        return HTTPServer(wsgi, host=settings.host, port=settings.port, name="fwbot-admin")
    except OSError as exc:
        raise UnusableSetting(
            f"FWBOT_ADMIN_HOST / FWBOT_ADMIN_PORT: cannot listen on {settings.host}:"
            f"{settings.port} for the admin listener ({exc.strerror or exc}); give another "
            "port (0: any free one) or FWBOT_ADMIN_PORT=off"
        ) from exc


def _log_admin(admin) -> None:
    """The one line that says where the admin listener is (and a line on stdout for tools)."""
    log.info(
        "fwbot: admin listener on http://%s:%d (metrics /metrics, readiness in detail /readyz)",
        admin.host,
        admin.port,
    )
    print(f"fwbot admin on port {admin.port}", flush=True)


def _stop_admin(admin) -> None:
    if admin is not None:
        _quietly("closing the admin listener", admin.stop, timeout=0.5)


def _serve_socket_mode(
    services: Services, app, work: _WorkPool, scheduler, recovery, readiness, admin, *, host, port
) -> int:
    """Socket Mode (bot/slack/socket_mode.py), with /healthz and /readyz on ``port`` and the
    admin listener as in HTTP mode; SIGTERM / SIGINT stop it as they stop HTTP (see
    :func:`_shut_down`)."""
    from ..slack.http_server import HTTPServer
    from ..slack.server import SlackWSGI
    from ..slack.socket_mode import SocketModeRunner
    from ..slack.socket_mode_bolt import BoltSocketModeRunner

    slack = services.settings.slack
    make_runner = BoltSocketModeRunner if slack.socket_client == "bolt" else SocketModeRunner
    runner = make_runner(app, slack.app_token or "")
    health = SlackWSGI(None, services.metrics, readiness, admin_token=services.settings.admin.token)
    http = HTTPServer(health, host=host, port=port)
    stop = _StopSignal()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    http.start()
    log.info(
        "fwbot: Socket Mode; liveness and readiness on http://%s:%d (/healthz, /readyz)",
        host,
        http.port,
    )
    print(f"fwbot health on port {http.port}", flush=True)
    if admin is not None:
        admin.start()
        _log_admin(admin)
    _warm(readiness)
    readiness.add("socket", runner.check)  # not connected yet: /readyz says so
    try:
        runner.start()  # the readiness line comes with Slack's hello
    except Exception as exc:  # apps.connections.open refused, Slack unreachable
        log.error("fwbot: cannot open the Socket Mode connection: %s", exc)
        recovery.stop()
        if scheduler is not None:
            scheduler.stop(timeout=0)
        _quietly("closing the health port", http.stop, timeout=1)
        _stop_admin(admin)
        return 1
    while stop.name is None and http.running:
        time.sleep(0.1)  # the handler only sets a flag: this thread drives the stop
    if stop.name is None:
        log.error("fwbot: the health server stopped by itself; stopping")
    recovery.stop()
    readiness.stopping = True  # /readyz answers 503 while the work drains
    return _shut_down(
        app,
        runner,
        scheduler,
        work,
        stop.name or "server loop ended",
        grace=services.settings.runtime.stop_grace,
        what="envelopes",
        then=lambda: _stop_both(http, admin),
        waiting=lambda: _report_waiting(services),
    )


def _stop_both(http, admin) -> None:
    _quietly("closing the health port", http.stop, timeout=0.5)
    _stop_admin(admin)


def _quietly(what: str, stop, **kwargs) -> None:
    """A last step of the stop, whose failure must not change the exit code."""
    try:
        stop(**kwargs)
    except Exception as exc:
        log.warning("fwbot: stop: %s failed (%s); exiting anyway", what, exc)


def _warm(readiness) -> None:
    """One readiness report before serving (the vector store's first check loads its
    client); a failing check is logged (bot/slack/health.py), the start goes on. Then the
    checks run every 15 s, probed or not, so a lost dependency is logged and metered."""
    ready, checks = readiness.report()
    failing = {k: v for k, v in checks.items() if v != "ok"}
    if failing and not ready:
        log.warning("fwbot: not ready yet: %s", ", ".join(f"{k} {v}" for k, v in failing.items()))
    readiness.watch()


def _shut_down(
    app,
    front,
    scheduler,
    work: _WorkPool,
    why: str,
    *,
    grace: float,
    what: str = "requests",
    then=None,
    waiting=None,
) -> int:
    """Stop taking ``what`` (``front.stop``: HTTP requests, or Socket Mode envelopes), answer
    those received, give the acknowledged work until ``grace`` seconds from now, run
    ``then``, exit; never later than HARD_STOP_MARGIN after the grace."""
    deadline = time.monotonic() + grace
    _exit_at(deadline + HARD_STOP_MARGIN)
    log.info(
        "fwbot: %s: stopping; no new %s, up to %.0f s for the work already "
        "acknowledged (another signal is ignored)",
        why,
        what,
        grace,
    )
    if scheduler is not None:
        scheduler.stop(timeout=0)  # no new pass; the running one is waited for below
    if not front.stop(timeout=_left(deadline)):
        log.warning("fwbot: stop: some %s were not answered in time (Slack retries them)", what)
    # bolt's listener threads ack, then hand the work over: let them finish handing it over
    listeners = getattr(getattr(app, "listener_runner", None), "listener_executor", None)
    if listeners is not None:
        handing = threading.Thread(
            target=listeners.shutdown,
            kwargs={"wait": True},
            name="fwbot-stop-listeners",
            daemon=True,
        )
        handing.start()
        handing.join(_left(deadline))
    done, cancelled, running = work.drain(deadline)
    if scheduler is not None:
        scheduler.stop(timeout=_left(deadline))
    log.info(
        "fwbot: stop: %d job(s) done since the start; %d not started and %d still "
        "running at the deadline",
        done,
        cancelled,
        running,
    )
    if waiting is not None:
        waiting()  # back-pressure: busy lines not sent dropped, deferred work waiting logged
    if running:
        log.warning(
            "fwbot: stop: %d job(s) still running after %.0f s: handed back (cut off; "
            "the next start finishes them)",
            running,
            grace,
        )
        _exit_now(0)  # their threads would hold the interpreter's exit
    if then is not None:
        then()
    log.info("fwbot: stopped")
    return 0


HARD_STOP_MARGIN = 1.5  # seconds after the grace: the process exits, whatever still runs


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _exit_now(code: int) -> None:
    logging.shutdown()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _exit_at(deadline: float) -> None:
    """A watchdog: exit at ``deadline`` (monotonic) if the process is still there."""

    def watch() -> None:
        time.sleep(_left(deadline))
        log.warning(
            "fwbot: stop: still not stopped %.1f s after the grace period; exiting",
            HARD_STOP_MARGIN,
        )
        _exit_now(0)

    threading.Thread(target=watch, name="fwbot-stop-watchdog", daemon=True).start()


class _StopSignal:
    """SIGTERM / SIGINT handler: records the first signal and nothing else (no exception into
    whatever the main thread runs, no lock, no logging); later signals are ignored."""

    def __init__(self) -> None:
        self.name: str | None = None

    def __call__(self, signum: int, _frame: object) -> None:
        if self.name is None:
            self.name = signal.Signals(signum).name


class _WorkPool(Executor):
    """The post-ack pool, counted: what is pending is waited for until a deadline, then what
    has not started is cancelled, and both are counted and logged (handed back)."""

    def __init__(self, inner: Executor) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._pending: set[Future] = set()
        self._closed = False
        self.finished = 0

    def submit(self, fn, /, *args, **kwargs) -> Future:
        with self._lock:
            if self._closed:  # acknowledged after the deadline: not run
                log.warning(
                    "fwbot: stop: 1 acknowledged job arrived after the deadline: "
                    "handed back (not run)"
                )
                future: Future = Future()
                future.cancel()
                return future
            future = self._inner.submit(fn, *args, **kwargs)
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future) -> None:
        with self._lock:
            if future in self._pending:
                self._pending.discard(future)
                self.finished += not future.cancelled()

    def drain(self, deadline: float) -> tuple[int, int, int]:
        """Wait for the pending work until ``deadline``, then take no more and cancel what has
        not started: (finished, cancelled, still running)."""
        while True:
            with self._lock:
                pending = list(self._pending)
            if not pending or _left(deadline) <= 0:
                break
            wait(pending, timeout=min(_left(deadline), 0.5))  # and again: work added since
        with self._lock:
            self._closed = True
            pending = list(self._pending)
        cancelled = sum(1 for f in pending if f.cancel())
        running = sum(1 for f in pending if not f.done())
        if cancelled:
            log.warning(
                "fwbot: stop: %d acknowledged job(s) not started within the grace "
                "period: handed back (not run; the next start runs them)",
                cancelled,
            )
        self._inner.shutdown(wait=False, cancel_futures=True)
        return self.finished, cancelled, running

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
        self._inner.shutdown(wait=wait, cancel_futures=cancel_futures)


def _report_waiting(services: Services) -> None:
    from ..slack.backpressure import at_stop

    at_stop(services.slack_deps)


def _start_recovery(services: Services):  # -> bot.slack.recovery_loop.RecoveryLoop
    """Finish what a stopped process acknowledged and left undone, or a full one deferred:
    now, every minute, and when work ends here while deferred work waits."""
    from ..slack.backpressure import start_recovery

    return start_recovery(services.slack_deps)


def _start_scheduler(services: Services):  # -> bot.progress.scheduler.Scheduler | None
    """Nudges and the digest, a pass a minute (FWBOT_SCHEDULER=false leaves them to cron)."""
    if not services.settings.progress.scheduler:
        log.info("fwbot: scheduler off (FWBOT_SCHEDULER=false); run `fwbot nudge run` from cron")
        return None
    from ..progress.passes import on_one_replica
    from ..progress.scheduler import Scheduler

    interval = services.settings.progress.scheduler_interval
    lock = services.replica_lock(wait=0)
    scheduled = on_one_replica(
        services.progress_pass,
        lambda: lock("progress-pass"),
        lambda outcome: services.metrics.progress_passes.labels(outcome).inc(),
    )
    scheduler = Scheduler(scheduled, interval=interval)
    scheduler.start()
    log.info("fwbot: scheduler on, a pass every %.0f s", scheduler.interval)
    return scheduler
