"""Readiness: whether this process can do its work now (``GET /readyz``).

Each check is a function that returns when its dependency answers and raises otherwise
(:class:`NotReady` with a short reason word, or anything else: ``error``). A check runs in a
thread of its own and is given :data:`CHECK_TIMEOUT` seconds (past that: ``timeout``); a
check still running from an earlier probe is not started again, so a hung dependency holds
one thread, not one per probe. The report is cached for :data:`CACHE_SECONDS`: a storm of
probes runs the checks once a second or two. The answer says which check failed in a word;
what went wrong (a host, an error's text) is logged, once per change, never answered. A
check that fails with :class:`Degraded` names its word too but leaves the process ready.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger("fwbot.health")

CHECK_TIMEOUT = 2.0  # seconds each check is given
CACHE_SECONDS = 1.5  # a report is reused this long
WATCH_SECONDS = 15.0  # the checks run at least this often (Readiness.watch)
DETAIL_CHARS = 300  # of a failed check's error, in the log and the admin detail

Check = Callable[[], object]


class NotReady(Exception):
    """A check's failure: ``reason`` is the word /readyz answers (``down``, ``disconnected``…);
    the message is for the log only."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


class Degraded(NotReady):
    """A check's dependency is lost but the process still does its work another way (the
    search index's local copy while the Chroma server is down): /readyz answers the reason
    word for that check and stays ready (200), and the change is logged as a warning."""


class Readiness:
    """The named checks, bounded in time and cached. :meth:`report` is thread-safe."""

    def __init__(
        self,
        checks: Mapping[str, Check],
        *,
        timeout: float = CHECK_TIMEOUT,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.checks = dict(checks)
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.clock = clock
        self.stopping = False  # set when the process stops: not ready, whatever the checks say
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, str], dict[str, str]] | None = None
        self._running: dict[str, threading.Thread] = {}
        self._last: dict[str, str] = {}
        self._degraded: set[str] = set()  # checks whose last failure was Degraded

    def add(self, name: str, check: Check) -> None:
        with self._lock:
            self.checks[name] = check
            self._cached = None  # a report without it is not the answer any more

    def watch(self, every: float = WATCH_SECONDS) -> threading.Thread:
        """Run the checks every ``every`` seconds in a daemon thread, probed or not, so that
        a lost dependency is logged and its metrics move even when nobody asks /readyz."""

        def loop() -> None:
            while not self.stopping:
                self.report()
                time.sleep(every)

        thread = threading.Thread(target=loop, name="fwbot-ready-watch", daemon=True)
        thread.start()
        return thread

    def report(self) -> tuple[bool, dict[str, str]]:
        """(ready, {check: "ok" or a reason word})."""
        ready, results, _detail = self.report_detail()
        return ready, results

    def report_detail(self) -> tuple[bool, dict[str, str], dict[str, str]]:
        """(ready, {check: "ok" or a reason word}, {failed check: what went wrong}): the
        detail names hosts and quotes errors, for the admin listener only."""
        with self._lock:  # one evaluation at a time; the others wait for it and reuse it
            now = self.clock()
            if self._cached is None or now - self._cached[0] >= self.cache_seconds:
                self._cached = (now, *self._run_all())
            results, detail = dict(self._cached[1]), dict(self._cached[2])
        if self.stopping:
            results["process"] = "stopping"
            detail["process"] = "the process is stopping (SIGTERM / SIGINT)"
        ready = all(v == "ok" or k in self._degraded for k, v in results.items())
        return ready, results, detail

    def _run_all(self) -> tuple[dict[str, str], dict[str, str]]:
        outcomes: dict[str, list[str]] = {name: [] for name in self.checks}
        details: dict[str, str] = {}
        started: list[tuple[str, threading.Thread]] = []
        for name, check in self.checks.items():
            previous = self._running.get(name)
            if previous is not None and previous.is_alive():
                outcomes[name].append("timeout")  # still hung since an earlier probe
                details[name] = "still no answer to an earlier probe's check"
                continue
            thread = threading.Thread(
                target=self._run_one,
                args=(name, check, outcomes[name], details),
                name=f"fwbot-ready-{name}",
                daemon=True,
            )
            self._running[name] = thread
            thread.start()
            started.append((name, thread))
        deadline = self.clock() + self.timeout
        for name, thread in started:
            thread.join(max(0.0, deadline - self.clock()))
            if thread.is_alive() and not outcomes[name]:
                outcomes[name].append("timeout")
                details[name] = f"no answer within {self.timeout:.1f} s"
                self._log_change(name, "timeout", details[name])
        results = {name: (got[0] if got else "timeout") for name, got in outcomes.items()}
        return results, {k: v for k, v in details.items() if results.get(k) != "ok"}

    def _run_one(self, name: str, check: Check, out: list[str], details: dict[str, str]) -> None:
        try:
            check()
        except Degraded as exc:
            self._degraded.add(name)
            details[name] = str(exc)[:DETAIL_CHARS]
            out.append(exc.reason)
            self._log_change(name, exc.reason, str(exc))
            return
        except NotReady as exc:
            details[name] = str(exc)[:DETAIL_CHARS]
            out.append(exc.reason)
            self._log_change(name, exc.reason, str(exc))
        except Exception as exc:  # anything else: a word for the answer, the text for the log
            details[name] = f"{type(exc).__name__}: {exc}"[:DETAIL_CHARS]
            out.append("error")
            self._log_change(name, "error", f"{type(exc).__name__}: {exc}")
        else:
            out.append("ok")
            self._log_change(name, "ok", "")
        self._degraded.discard(name)

    def _log_change(self, name: str, outcome: str, detail: str) -> None:
        """One line when a check's outcome changes (not one per probe)."""
        before = self._last.get(name)
        self._last[name] = outcome
        if outcome == before or (before is None and outcome == "ok"):
            return
        if outcome == "ok":
            log.info("readiness: %s ok", name)
        elif before is None:  # not ready yet at the start (a socket not connected yet…)
            log.info("readiness: %s %s (%s)", name, outcome, detail[:DETAIL_CHARS])
        else:
            log.warning("readiness: %s %s (%s)", name, outcome, detail[:DETAIL_CHARS])
