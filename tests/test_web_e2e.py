"""End to end in real headless Chromium: ``attune demo`` as a user would run it, a phone-sized
page, live updates, naming an episode Bracing with a note, and the name surviving a reload."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from conftest import REPO, missing
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def output_dir(tmp_path: Path) -> Path:
    """Screenshots go to $ATTUNE_TEST_OUTPUT (CI keeps it) or the test's tmp_path."""
    out = Path(os.environ.get("ATTUNE_TEST_OUTPUT", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    return out


@contextlib.contextmanager
def demo_running(tmp: Path, duration_s: float = 300):
    """``attune demo`` in a subprocess on a free port with its own database, until the
    block ends (Ctrl-C); yields its base URL, database and process."""
    port = free_port()
    db = tmp / "demo.sqlite"
    env = {**os.environ, "ATTUNE_DEMO_DURATION_S": str(duration_s), "PYTHONUNBUFFERED": "1"}
    log = open(tmp / "demo.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "attune.cli", "demo", "--port", str(port), "--db", str(db)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            pytest.fail(f"attune demo exited with {proc.returncode}:\n{(tmp / 'demo.log').read_text()}")
        try:
            if httpx.get(f"{base}/api/status", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"attune demo did not answer within 90 s:\n{(tmp / 'demo.log').read_text()}")
        time.sleep(0.2)
    try:
        yield base, db, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


@pytest.fixture
def demo(tmp_path: Path):
    """``attune demo`` in a subprocess on a free port with its own database."""
    with demo_running(tmp_path) as running:
        yield running


def _show_day_with_unnamed_episode(page) -> bool:
    """Stay on today if it has an episode needing a name, else go back a day. Returns
    whether it went back. Waits for the day's list so no stale row is picked."""
    expect(page.locator("#day-title")).to_have_text("Today")
    unnamed = page.locator("#episodes button[data-episode-id]").filter(has_text="needs a name")
    try:
        unnamed.first.wait_for(timeout=5_000)
        return False
    except PlaywrightTimeout:
        page.click("#day-prev")
        expect(page.locator("#day-title")).not_to_have_text("Today")
        unnamed.first.wait_for(timeout=15_000)
        return True


def episode_x_css(base: str, episode_id: int, yesterday: bool, width_css: float) -> float:
    """Where an episode's shaded span is on the day's chart, from its times in the API:
    the chart maps the local day linearly onto its width (spans at least 3 px wide)."""
    day0 = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    if yesterday:
        day0 = (day0 - timedelta(days=1)).replace(tzinfo=None).astimezone()
    day1 = (day0 + timedelta(days=1, hours=2)).replace(hour=0, tzinfo=None).astimezone()
    found = httpx.get(f"{base}/api/episodes", params={"from": day0.isoformat(), "to": day1.isoformat()}).json()
    e = next(e for e in found["episodes"] if e["id"] == episode_id)
    start = datetime.fromisoformat(e["start"])
    end = datetime.fromisoformat(e["end"]) if e["end"] else start + timedelta(seconds=e["duration_s"])
    x = lambda t: (t - day0) / (day1 - day0) * width_css  # noqa: E731
    return (x(start) + max(x(end), x(start) + 3)) / 2


def test_demo_on_a_phone_name_an_episode_bracing(demo, browser, tmp_path: Path) -> None:
    base, db, proc = demo
    out = output_dir(tmp_path)
    page = browser.new_page(viewport=PHONE, device_scale_factor=2)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/")

    # live: the heart rate appears and live beats keep arriving: the strap's dot stays on
    # and no "last beat … ago" shows, which needs a beat in the last 3 s (expect() polls
    # without eval, which the page's Content-Security-Policy forbids)
    expect(page.locator("#hr")).to_have_text(re.compile(r"^\d+$"), timeout=20_000)
    expect(page.locator("body")).to_have_attribute("data-live", "open", timeout=20_000)
    expect(page.locator("#link-dot")).to_have_class("dot on", timeout=20_000)
    for _ in range(6):
        page.wait_for_timeout(1000)
        assert page.text_content("#beat-age") == ""
        assert page.get_attribute("#link-dot", "class") == "dot on"
    assert page.text_content("#state-words").strip() not in ("", "—")
    page.screenshot(path=str(out / "phone-live.png"))

    # the history generated at start-up has episodes waiting for a name: today's last
    # hours (when the clock allows) or else yesterday
    went_back = _show_day_with_unnamed_episode(page)
    first = page.locator("#episodes button[data-episode-id]").filter(has_text="needs a name").first
    episode_id = first.get_attribute("data-episode-id")
    first.click()
    page.wait_for_selector("#sheet:not([hidden])")
    page.screenshot(path=str(out / "phone-sheet.png"))
    page.click("#choose-bracing")
    page.fill("#note", "bracing for the door")
    page.click("#sheet-save")
    page.wait_for_selector("#sheet", state="hidden")
    row = page.locator(f"#episodes button[data-episode-id='{episode_id}']")
    row.filter(has_text="bracing").wait_for(timeout=10_000)

    # reload: the name is still there, on the page and in the database
    page.reload()
    expect(page.locator("#day-title")).to_have_text("Today")
    if went_back:
        page.click("#day-prev")
    row = page.locator(f"#episodes button[data-episode-id='{episode_id}']")
    row.filter(has_text="bracing").wait_for(timeout=15_000)
    # this time open it by tapping its shaded span on the chart (the day spans the canvas;
    # the reload restores the scroll position, which may leave the chart above the viewport)
    page.locator("#timeline").scroll_into_view_if_needed()
    box = page.locator("#timeline").bounding_box()
    page.mouse.click(box["x"] + episode_x_css(base, int(episode_id), went_back, box["width"]), box["y"] + 40)
    page.wait_for_selector("#sheet:not([hidden])")
    assert page.input_value("#note") == "bracing for the door"
    assert page.get_attribute("#choose-bracing", "aria-pressed") == "true"
    page.screenshot(path=str(out / "phone-tagged.png"))
    page.click("#sheet-cancel")
    page.screenshot(path=str(out / "phone-day.png"), full_page=True)

    conn = sqlite3.connect(db)
    labels = [r[0] for r in conn.execute("SELECT l.name FROM tag t JOIN label l ON l.id = t.label_id")]
    conn.close()
    assert labels == ["bracing"]
    assert errors == []

    # a graceful stop: SIGINT ends the demo cleanly
    proc.send_signal(signal.SIGINT)
    assert proc.wait(20) == 0
