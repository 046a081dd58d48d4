"""Notifications when the page is closed: a new episode, sent through Apprise.

One setting, ``ATTUNE_NOTIFY_URL`` / ``--notify URL``, names where to send (any Apprise URL:
``ntfy://``, ``pover://``, ``tgram://``, ``mailto://``, ``json://`` …). When the live
pipeline (``run``/``demo``) or the database tail (``serve``) announces an episode and no page
is open on the live stream, one message goes out with a link straight to the episode's
sheet (``<base>/#episode=<id>``) — unless it falls in the quiet hours
(``ATTUNE_NOTIFY_QUIET=22:00-08:00``, local time), the day's cap is reached
(``ATTUNE_NOTIFY_CAP``, default 6: research apps that prompt on physiology keep to a handful
a day) or the last one went out less than ``ATTUNE_NOTIFY_GAP_MIN`` (default 30) minutes ago.

Sending never blocks nor breaks recording: :class:`Notifier` decides on the event loop (a
few comparisons) and hands the message to one background thread; a failure is logged in one
line that names the service's scheme only, never the URL (it holds tokens and passwords).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, tzinfo
from typing import TYPE_CHECKING

from attune.api.live import LiveHub
from attune.errors import UsageError
from attune.timeutil import epoch_ms_to_datetime, local_tz, now_ms

if TYPE_CHECKING:
    from attune.config import Settings

log = logging.getLogger(__name__)

CAP_PER_DAY = 6
GAP_MIN = 30.0
TITLE = "attune"


def url_scheme(url: str) -> str:
    """``ntfy`` of ``ntfy://token@host/topic``: the only part of a notify URL we ever show."""
    return url.split("://", 1)[0][:20] if "://" in url else "?"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local hours without notifications, ``[start, end)``; may run across midnight."""

    start: time
    end: time

    def covers(self, at: datetime) -> bool:
        t = at.timetz().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


_QUIET = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def quiet_parse(text: str | None) -> QuietHours | None:
    """``"22:00-08:00"`` → :class:`QuietHours`; None for none; UsageError if malformed."""
    if not text or not text.strip():
        return None
    m = _QUIET.match(text)
    if not m or int(m[1]) > 23 or int(m[3]) > 23 or int(m[2]) > 59 or int(m[4]) > 59:
        raise UsageError(f"ATTUNE_NOTIFY_QUIET {text!r}: give quiet hours as HH:MM-HH:MM, e.g. 22:00-08:00")
    start, end = time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4]))
    return None if start == end else QuietHours(start, end)


@dataclass
class NotifyPolicy:
    """When a message may go out: quiet hours, a daily cap and a minimum gap (local days)."""

    quiet: QuietHours | None = None
    cap_per_day: int = CAP_PER_DAY
    gap_min: float = GAP_MIN
    tz: tzinfo | None = None
    _sent_ms: list[int] = field(default_factory=list)

    def why_not(self, at_ms: int) -> str | None:
        """None if a message may go out at ``at_ms`` (Unix ms); else the reason."""
        at = epoch_ms_to_datetime(at_ms, self.tz or local_tz())
        if self.quiet is not None and self.quiet.covers(at):
            return "quiet hours"
        if self._sent_ms and at_ms - self._sent_ms[-1] < self.gap_min * 60_000:
            return f"less than {self.gap_min:g} min since the last one"
        today = at.date()
        sent_today = sum(1 for t in self._sent_ms if epoch_ms_to_datetime(t, at.tzinfo).date() == today)
        if sent_today >= self.cap_per_day:
            return f"{self.cap_per_day} sent today already"
        return None

    def sent(self, at_ms: int) -> None:
        self._sent_ms.append(at_ms)
        del self._sent_ms[:-max(self.cap_per_day, 1) - 1]  # what the cap and the gap need


def message_text(onset_ms: int, link: str, tz: tzinfo | None = None) -> str:
    """The message body: when it began, the two words to choose from, the link."""
    hhmm = epoch_ms_to_datetime(onset_ms, tz or local_tz()).strftime("%H:%M")
    return f"Since {hhmm} your body is activated: bracing or waiting? Name it while it is fresh: {link}"


class Notifier:
    """Decides on the event loop, sends on one background thread through Apprise.

    ``send(title, body) -> bool`` is Apprise's ``notify`` by default (tests may pass their
    own sender); ``clock_ms`` is the wall clock (tests pass a fake one)."""

    def __init__(self, url: str, link_base: str, policy: NotifyPolicy | None = None, *,
                 send: Callable[[str, str], bool] | None = None, clock_ms: Callable[[], int] = now_ms) -> None:
        self.scheme = url_scheme(url)
        self.link_base = link_base.rstrip("/") + "/"
        self.policy = policy or NotifyPolicy()
        self.clock_ms = clock_ms
        self._send = send or apprise_sender(url)
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue(maxsize=16)
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.failed = 0
        self._done = threading.Condition()

    def link(self, episode_id: int) -> str:
        return f"{self.link_base}#episode={episode_id}"

    def offer(self, episode_id: int, onset_ms: int) -> str | None:
        """A new episode: queue its message if the policy allows; None if queued, else why not."""
        at_ms = self.clock_ms()
        why = self.policy.why_not(at_ms)
        if why is not None:
            log.info("episode %d: no notification (%s)", episode_id, why)
            return why
        try:
            self._queue.put_nowait((TITLE, message_text(onset_ms, self.link(episode_id), self.policy.tz)))
        except queue.Full:
            return "too many waiting to be sent"
        self.policy.sent(at_ms)
        self._start()
        return None

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="notify", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            title, body = item
            try:
                ok = self._send(title, body)
            except Exception as exc:  # noqa: BLE001  (a plugin's bug must not end the thread)
                ok = False
                log.debug("notify %s raised %s", self.scheme, type(exc).__name__)
            with self._done:
                if ok:
                    self.sent += 1
                else:
                    self.failed += 1
                    log.warning("notification via %s:// could not be sent (check ATTUNE_NOTIFY_URL)", self.scheme)
                self._done.notify_all()

    def wait_sent(self, n: int, timeout_s: float) -> bool:
        """Block until ``n`` messages were sent or failed (for tests and shutdown)."""
        with self._done:
            return self._done.wait_for(lambda: self.sent + self.failed >= n, timeout_s)

    def close(self) -> None:
        """Let what is queued go out (the thread is a daemon: it never holds the exit)."""
        if self._thread is not None:
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)


def apprise_sender(url: str) -> Callable[[str, str], bool]:
    """Apprise's ``notify`` for one URL; UsageError (naming only the scheme) if Apprise
    does not know it."""
    import apprise

    # Apprise logs each failure with details of the service; ours is one line without the URL
    logging.getLogger("apprise").setLevel(logging.CRITICAL)
    ap = apprise.Apprise()
    if not ap.add(url):
        raise UsageError(f"ATTUNE_NOTIFY_URL / --notify: Apprise does not understand this {url_scheme(url)}:// URL "
                         "(see https://github.com/caronc/apprise/wiki for the forms)")

    def send(title: str, body: str) -> bool:
        return bool(ap.notify(body=body, title=title))

    return send


async def notify_watch(hub: LiveHub, notifier: Notifier) -> None:
    """Listen to the live stream like a page does; a new episode while no page listens is offered
    to the notifier. Resubscribes if dropped (the app's lifespan cancels it at shutdown)."""
    while True:
        async for event in hub.subscribe():
            if event.kind != "episode":
                continue
            data = json.loads(event.data_json)
            if data.get("event") != "started" or data.get("id") is None:
                continue
            if hub.clients > 1:  # a page is open: it asks there (and we are one client)
                log.debug("episode %s: a page is open, no notification", data["id"])
                continue
            try:
                onset_ms = int(datetime.fromisoformat(data["start"]).timestamp() * 1000)
            except (KeyError, TypeError, ValueError):
                onset_ms = notifier.clock_ms()
            notifier.offer(int(data["id"]), onset_ms)
        await asyncio.sleep(0.5)


def notifier_create(s: Settings, link_base: str) -> Notifier | None:
    """The notifier the settings ask for (None without ``notify_url``); UsageError for a
    URL Apprise does not know or malformed quiet hours, before anything is recorded."""
    if not s.notify_url:
        return None
    policy = NotifyPolicy(quiet=quiet_parse(s.notify_quiet), cap_per_day=s.notify_cap, gap_min=s.notify_gap_min)
    return Notifier(s.notify_url, link_base, policy)
