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
from test_web_live import ServerThread, today_db  # noqa: F401  (today_db is a fixture)

PURE_CHECKS = """async () => {
  const b = await import("/static/breathe.js");
  const at = (t, rate, ratio) => b.pacerAt(t, rate, ratio);
  return {
    start: at(0, 6, 1), topOfIn: at(5000, 6, 1), midOut: at(7500, 6, 1), next: at(10000, 6, 1),
    unevenTurn: [at(3950, 6, 0.67).phase, at(4100, 6, 0.67).phase],  // 2:3 of 10 s: ~4 s in, ~6 s out
    share: b.inhaleShare(0.5),
    agree: b.rateAdvice(6.8, 6), unknown: b.rateAdvice(null, 6),
    fast: b.rateAdvice(9.2, 6), slow: b.rateAdvice(4.4, 6),
    sheet: offers(b),
  };
}"""
# what an episode's sheet offers: named (reviewed) → "try it next time"; still going → "Breathe now"
OFFERS = """
function offers(b) {
  const hidden = () => ["sheet-breathe", "sheet-breathe-now", "sheet-breathe-next"].map((id) => document.getElementById(id).hidden);
  const start = "2026-11-19T10:00:00Z";
  b.breatheSheetOffer({ kind: "episode", episode: { id: 1, open: false, tag: { label: "waiting" }, start } });
  const named = hidden();
  b.breatheSheetOffer({ kind: "episode", episode: { id: 2, open: true, tag: null, start } });
  const live = hidden();
  b.breatheSheetOffer({ kind: "moment" });
  return { named, live, moment: hidden()[0] };
}"""


def test_the_pacer_and_the_gentle_word_are_pure(today_db: Path, browser) -> None:  # noqa: F811
    """breathe.js's pacer size over a breath and its word on the rate, in Chromium."""
    with ServerThread(today_db) as base:
        page = browser.new_page(viewport=PHONE)
        page.goto(base + "/")
        got = page.evaluate(PURE_CHECKS.replace("async () => {", "async () => {" + OFFERS, 1))
    assert got["start"] == {"phase": "in", "size": 0.45}
    assert got["topOfIn"]["size"] == 1 or got["topOfIn"]["phase"] == "out" and got["topOfIn"]["size"] > 0.999
    assert got["midOut"]["phase"] == "out" and 0.45 < got["midOut"]["size"] < 1
    assert got["next"] == {"phase": "in", "size": 0.45}
    assert got["unevenTurn"] == ["in", "out"] and abs(got["share"] - 1 / 3) < 1e-9
    assert got["agree"] == "" and got["unknown"] == ""
    assert "9.2" in got["fast"] and "longer" in got["fast"] and "6/min" in got["fast"]
    assert "4.4" in got["slow"] and got["slow"] != got["fast"]
    assert got["sheet"] == {"named": [False, True, False], "live": [False, False, True], "moment": True}


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
        box = page.locator("#breathe-open").bounding_box()
        assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= PHONE["width"]
        page.locator("header.top").screenshot(path=str(out / "phone-breathe-header.png"))

        # an episode of the demo's history that needs a name: its sheet offers "Breathe now"
        went_back = _show_day_with_unnamed_episode(page)
        first = page.locator("#episodes button[data-episode-id]").filter(has_text="needs a name").first
        episode_id = int(first.get_attribute("data-episode-id"))
        first.click()
        expect(page.locator("#sheet")).to_be_visible()
        expect(page.locator("#sheet-breathe-now")).to_be_visible()
        expect(page.locator("#sheet-breathe-next")).to_be_hidden()
        page.locator("#sheet").screenshot(path=str(out / "phone-breathe-sheet.png"))
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
        page.locator("#breath-marks").scroll_into_view_if_needed()
        expect(page.locator("#legend")).to_contain_text("a breathing session")
        page.screenshot(path=str(out / "phone-breathe-saved.png"))
        assert not errors, errors
