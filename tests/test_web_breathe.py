"""Paced breathing end to end (issue 10) in real headless Chromium at 390×844 during
``attune demo``: a session started from an episode's sheet, the pacer running, the heart
rate traced beat by beat, the server's feedback showing the demo's strap breathing at the
pacer's rate, and the session saved and marked on the day's chart."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
from playwright.sync_api import expect
from test_web_e2e import PHONE, _show_day_with_unnamed_episode, browser, demo_running, output_dir  # noqa: F401


def _sizes(page, n: int = 6, every_ms: int = 700) -> list[float]:
    sizes = []
    for _ in range(n):
        box = page.locator("#pacer").bounding_box()
        assert box is not None
        sizes.append(box["width"])
        page.wait_for_timeout(every_ms)
    return sizes


def test_a_breathing_session_from_an_episode_on_a_phone(browser, tmp_path: Path) -> None:  # noqa: F811
    out = output_dir(tmp_path)
    with demo_running(tmp_path, duration_s=600) as (base, _db, _proc):
        page = browser.new_page(viewport=PHONE, device_scale_factor=2)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/")
        expect(page.locator("#hr")).to_have_text(re.compile(r"^\d+$"), timeout=20_000)
        expect(page.locator("#breathe-open")).to_be_visible()  # reachable from anywhere: the header

        # an episode of the demo's history that needs a name: its sheet offers "Breathe now"
        went_back = _show_day_with_unnamed_episode(page)
        first = page.locator("#episodes button[data-episode-id]").filter(has_text="needs a name").first
        episode_id = int(first.get_attribute("data-episode-id"))
        first.click()
        expect(page.locator("#sheet")).to_be_visible()
        expect(page.locator("#sheet-breathe-now")).to_be_visible()
        expect(page.locator("#sheet-breathe-next")).to_be_hidden()
        page.click("#sheet-breathe-now")
        expect(page.locator("#sheet")).to_be_hidden()
        expect(page.locator("#breathe")).to_be_visible()
        expect(page.locator("body")).to_have_attribute("data-breathing", "running", timeout=5_000)
        expect(page.locator("#breathe-from")).to_contain_text("moment of activation")
        expect(page.locator("#breathe")).to_contain_text("screen on")

        running = httpx.get(f"{base}/api/breathing/sessions").json()["sessions"]
        assert len(running) == 1 and running[0]["end"] is None
        assert running[0]["episode_id"] == episode_id and running[0]["rate_per_min"] == 6.0

        # the pacer breathes: its size changes over time, between breathed out and in
        sizes = _sizes(page)
        assert max(sizes) - min(sizes) > 20, sizes
        assert max(sizes) <= 172 and min(sizes) >= 0.45 * 170 - 2, sizes

        # the heart rate beat by beat under it: new beats keep arriving and are drawn
        trace = page.locator("#breathe-trace")
        expect(trace).to_have_attribute("data-beats", re.compile(r"^[1-9]\d*$"), timeout=10_000)
        last = trace.get_attribute("data-last")
        deadline = time.monotonic() + 10
        while trace.get_attribute("data-last") == last and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        assert trace.get_attribute("data-last") != last, "the trace did not move"
        page.screenshot(path=str(out / "phone-breathe.png"))

        # every 5 s the server's feedback; once a minute of beats breathes with the pacer,
        # the heart shows the pacer's rate (the demo's strap follows the session)
        expect(page.locator("#fb-rsa")).to_have_text(re.compile(r"^\d+\.\d bpm$"), timeout=150_000)
        expect(page.locator("#fb-coherence")).to_have_text(re.compile(r"^\d+ %$"))
        expect(page.locator("#fb-rate")).to_have_text(re.compile(r"^(5\.[5-9]|6\.[0-5])/min · circle 6/min$"),
                                                      timeout=120_000)
        expect(page.locator("#breathe-advice")).to_be_hidden()  # breathing with the pacer: no word
        page.screenshot(path=str(out / "phone-breathe-feedback.png"))

        # end: saved, with its figures, and marked on the day's chart
        page.click("#breathe-end")
        expect(page.locator("#breathe-saved")).to_contain_text("Saved", timeout=10_000)
        expect(page.locator("#breathe-saved")).to_contain_text("heart swing")
        expect(page.locator("body")).to_have_attribute("data-breathing", "")
        page.click("#breathe-close")
        expect(page.locator("#breathe")).to_be_hidden()
        if went_back:
            page.click("#day-next")
            expect(page.locator("#day-title")).to_have_text("Today")
        ended = httpx.get(f"{base}/api/breathing/sessions").json()["sessions"]
        assert len(ended) == 1 and ended[0]["end"] is not None and ended[0]["episode_id"] == episode_id
        assert ended[0]["rsa_bpm"] is not None and ended[0]["hr_during_bpm"] is not None
        mark = page.locator(f"#breath-marks .breath-mark[data-session-id='{ended[0]['id']}']")
        expect(mark).to_have_count(1, timeout=10_000)
        expect(page.locator("#breath-marks")).to_have_attribute("aria-label", "1 breathing session")
        page.screenshot(path=str(out / "phone-breathe-saved.png"))
        assert not errors, errors
