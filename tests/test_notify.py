"""Notifications through Apprise to a real HTTP receiver on 127.0.0.1: the rate limits with a
fake clock, failures that never block, secrets never logged, a bad URL as one line."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import pytest
from conftest import REPO
from notify_receiver import Receiver

from attune.api.notify import Notifier, NotifyPolicy, QuietHours, quiet_parse
from attune.errors import UsageError

BASE = "http://192.168.1.20:8765/"


class FakeClock:
    def __init__(self, at: datetime) -> None:
        self.ms = int(at.timestamp() * 1000)

    def __call__(self) -> int:
        return self.ms

    def advance_min(self, minutes: float) -> None:
        self.ms += int(minutes * 60_000)


def _notifier(url: str, clock: FakeClock, **policy: object) -> Notifier:
    return Notifier(url, BASE, NotifyPolicy(tz=UTC, **policy), clock_ms=clock)  # type: ignore[arg-type]


def test_a_message_reaches_the_receiver_with_a_link_to_the_episode() -> None:
    clock = FakeClock(datetime(2026, 11, 30, 14, 2, tzinfo=UTC))
    with Receiver() as rx:
        n = _notifier(rx.url("attune/hook"), clock)
        assert n.offer(42, clock.ms - 60_000) is None
        got = rx.wait(1, 10)
    assert rx.paths == ["/attune/hook"]
    assert got[0]["title"] == "attune"
    assert "Since 14:01" in got[0]["message"] and "bracing or waiting" in got[0]["message"]
    assert f"{BASE}#episode=42" in got[0]["message"]
    assert n.sent == 1 and n.failed == 0


def test_minimum_gap_daily_cap_and_quiet_hours_with_a_fake_clock() -> None:
    clock = FakeClock(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
    with Receiver() as rx:
        n = _notifier(rx.url(), clock, quiet=quiet_parse("22:00-08:00"), cap_per_day=3, gap_min=30)
        assert n.offer(1, clock.ms) == "quiet hours"  # 07:00: still quiet
        clock.advance_min(60)  # 08:00: quiet hours are over
        assert n.offer(2, clock.ms) is None
        clock.advance_min(29)  # 08:29: too soon after the last
        assert "30 min" in n.offer(3, clock.ms)
        clock.advance_min(1)  # 08:30
        assert n.offer(4, clock.ms) is None
        clock.advance_min(120)
        assert n.offer(5, clock.ms) is None  # the third of the day
        clock.advance_min(120)
        assert "3 sent today" in n.offer(6, clock.ms)  # the cap
        clock.advance_min(10 * 60)  # 22:30: quiet again
        assert n.offer(7, clock.ms) == "quiet hours"
        clock.advance_min(10 * 60)  # 08:30 the next day: a new day's cap
        assert n.offer(8, clock.ms) is None
        got = rx.wait(4, 15)
        time.sleep(0.3)  # nothing more arrives
    assert [m["message"].rsplit("=", 1)[1] for m in rx.received] == ["2", "4", "5", "8"]
    assert len(got) == 4


def test_quiet_hours_parse() -> None:
    q = quiet_parse("22:00-08:00")
    assert q == QuietHours(datetime(1, 1, 1, 22).time(), datetime(1, 1, 1, 8).time())
    assert q.covers(datetime(2026, 1, 1, 23, 59)) and q.covers(datetime(2026, 1, 1, 7, 59))
    assert not q.covers(datetime(2026, 1, 1, 8, 0)) and not q.covers(datetime(2026, 1, 1, 21, 59))
    day = quiet_parse("13:00-14:30")
    assert day.covers(datetime(2026, 1, 1, 14, 0)) and not day.covers(datetime(2026, 1, 1, 14, 30))
    assert quiet_parse("") is None and quiet_parse(None) is None
    for bad in ("22-08", "25:00-08:00", "22:00-08:61", "night"):
        with pytest.raises(UsageError, match="HH:MM-HH:MM"):
            quiet_parse(bad)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("status", [None, 500])
def test_a_failing_service_never_blocks_and_its_secret_is_never_logged(
        status: int | None, caplog: pytest.LogCaptureFixture) -> None:
    """Nobody listening (connection refused) or a 500: offer returns at once, one line logged
    naming only the scheme; the password in the URL appears nowhere."""
    clock = FakeClock(datetime(2026, 11, 30, 12, tzinfo=UTC))
    caplog.set_level(logging.DEBUG)
    answer = threading.Event()
    with Receiver(status=status or 200, hold=answer) as rx:
        port = rx.port if status else _closed_port()
        n = _notifier(f"json://me:s3cretpass@127.0.0.1:{port}/hook", clock)
        assert n.offer(7, clock.ms) is None
        if status:  # the service hangs: offer has returned all the same, nothing is finished
            rx.wait(1, 10)
            assert n.sent + n.failed == 0
        answer.set()
        assert n.wait_sent(1, 30)
    assert n.failed == 1 and n.sent == 0
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("attune")]
    assert any("json:// could not be sent" in line for line in lines)
    assert all("s3cretpass" not in r.getMessage() for r in caplog.records)
    assert "s3cretpass" not in caplog.text


def test_a_url_apprise_does_not_know_stops_the_command_with_one_line(tmp_path) -> None:
    """`attune serve --notify` with a nonsense scheme: exit 2, one line, the secret not echoed."""
    from attune.db import db_connect

    db_connect(tmp_path / "a.sqlite").close()
    proc = subprocess.run(
        [sys.executable, "-m", "attune.cli", "serve", "--db", str(tmp_path / "a.sqlite"), "--port", str(_closed_port()),
         "--notify", "nosuchservice://user:s3cretpass@example.org/x"],
        cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "nosuchservice://" in proc.stderr and "Traceback" not in proc.stderr
    assert "s3cretpass" not in proc.stderr + proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_bad_quiet_hours_stop_the_command_with_one_line(tmp_path) -> None:
    from attune.db import db_connect

    db_connect(tmp_path / "a.sqlite").close()
    env = {"ATTUNE_NOTIFY_QUIET": "late", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "attune.cli", "serve", "--db", str(tmp_path / "a.sqlite"), "--port", str(_closed_port()),
         "--notify", "json://127.0.0.1:9/x"], cwd=REPO, capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2 and "ATTUNE_NOTIFY_QUIET 'late'" in proc.stderr and "Traceback" not in proc.stderr


async def test_the_live_stream_offers_new_episodes_only_while_no_page_is_open() -> None:
    """notify_watch listens as a page does: an episode started while a page listens is asked on
    the page; one started while none listens becomes a message."""
    import asyncio

    from attune.api.live import LiveHub
    from attune.api.notify import notify_watch

    clock = FakeClock(datetime(2026, 11, 30, 12, tzinfo=UTC))
    hub = LiveHub()
    with Receiver() as rx:
        n = _notifier(rx.url(), clock, gap_min=0)
        watch = asyncio.create_task(notify_watch(hub, n))
        await asyncio.sleep(0.05)
        page = hub.subscribe()
        first = asyncio.ensure_future(page.__anext__())
        await asyncio.sleep(0.05)
        assert hub.clients == 2  # the page and the watcher
        hub.publish("episode", {"event": "started", "id": 5, "at": "", "start": "2026-11-30T11:58:00+00:00"})
        hub.publish("episode", {"event": "updated", "id": 5, "at": "", "start": "2026-11-30T11:58:00+00:00"})
        assert (await first).kind == "episode"
        await page.aclose()  # the page is closed
        await asyncio.sleep(0.05)
        hub.publish("episode", {"event": "started", "id": 6, "at": "", "start": "2026-11-30T12:00:00+00:00"})
        got = await asyncio.to_thread(rx.wait, 1, 10)
        await asyncio.sleep(0.3)
        watch.cancel()
    assert len(rx.received) == 1 and got[0]["message"].endswith("#episode=6")
    assert "Since 12:00" in got[0]["message"]
