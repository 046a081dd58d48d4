"""Breathing sessions on the day and week views, and the settling comparison (issue 10 §2), in
real headless Chromium at 390×844 against a real local server: a session started on one page
is seen by a second open page through the live `breathing` event (header, chart marks, summary),
and ended likewise; the week shows each day's sessions and the comparison over the week."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect
from test_web_e2e import PHONE, browser, output_dir  # noqa: F401
from test_web_live import ServerThread, today_db  # noqa: F401  (today_db is a fixture)

PURE = """async () => {
  const s = await import("/static/settling.js");
  const group = (n, m) => ({ episodes: n, median_s: m });
  const few = { comparable: false, min_episodes: 6, window_s: 600, with_session: group(2, null), without_session: group(9, null) };
  const enough = { comparable: true, min_episodes: 6, window_s: 600, with_session: group(7, 190), without_session: group(12, 245) };
  return {
    few: s.settlingText(few, "this week"), enough: s.settlingText(enough, "the last 4 weeks"),
    none: s.breathingText(0, 0), two: s.breathingText(2, 14.4), one: s.breathingText(1, 5),
  };
}"""


def test_the_comparison_in_words_makes_no_claim(today_db: Path, browser) -> None:  # noqa: F811
    with ServerThread(today_db) as base:
        page = browser.new_page(viewport=PHONE)
        page.goto(base + "/")
        got = page.evaluate(PURE)
    assert got["few"]["figure"] == ("Too few episodes to compare settling yet: 2 with a breathing session, 9 without "
                                    "(this week; 6 of each needed).")
    assert got["few"]["note"] == ""
    fig = got["enough"]["figure"]
    assert "median 3 min (7 episodes)" in fig and "4 min (12 episodes)" in fig and "within 10 min" in fig
    assert "does not prove" in got["enough"]["note"]
    for words in (fig, got["enough"]["note"]):  # no word of cause
        assert not re.search(r"\b(helps|helped|because|caused|faster thanks)\b", words, re.I)
    assert (got["none"], got["two"], got["one"]) == ("No breathing sessions", "2 breathing sessions, 14 min",
                                                     "1 breathing session, 5 min")


def test_a_second_page_sees_a_session_start_and_end(today_db: Path, browser, tmp_path: Path) -> None:  # noqa: F811
    out = output_dir(tmp_path)
    with ServerThread(today_db) as base:
        a = browser.new_page(viewport=PHONE)
        b = browser.new_page(viewport=PHONE)
        errors: list[str] = []
        for p in (a, b):
            p.on("pageerror", lambda e: errors.append(str(e)))
            p.goto(base + "/")
            expect(p.locator("body")).to_have_attribute("data-live", "open", timeout=15_000)
        # the day summary: sessions and the comparison (too few here: a fresh history)
        settling = b.locator("#summary-body #settling")
        expect(settling.locator(".breathing-count")).to_have_text("No breathing sessions.")
        expect(settling.locator(".settling-figure")).to_contain_text("Too few episodes to compare settling yet: 0 with")
        expect(b.locator("#breath-marks .breath-mark")).to_have_count(0)

        # page A starts a session from the header
        a.locator("#breathe-open").click()
        a.locator("#breathe-start").click()
        expect(a.locator("body")).to_have_attribute("data-breathing", "running")
        # page B, untouched, hears of it: the header, the chart's mark, the summary
        expect(b.locator("body")).to_have_attribute("data-breathing", "running", timeout=10_000)
        expect(b.locator("#breathe-open")).to_have_attribute("aria-label", re.compile("running"))
        expect(b.locator("#breath-marks .breath-mark")).to_have_count(1)
        expect(settling.locator(".breathing-count")).to_have_text(re.compile(r"^1 breathing session, \d+ min\.$"))
        b.screenshot(path=str(out / "settling-second-page-running.png"))
        # B opens the panel: the running session is there, with its End button
        b.locator("#breathe-open").click()
        expect(b.locator("#breathe-end")).to_be_visible()
        b.locator("#breathe-close").click()

        a.wait_for_timeout(1200)  # a session of at least a second
        a.locator("#breathe-end").click()
        expect(a.locator("#breathe-saved")).to_be_visible()
        expect(b.locator("body")).to_have_attribute("data-breathing", "", timeout=10_000)
        expect(b.locator("#breathe-open")).not_to_have_attribute("aria-label", re.compile("running"))
        mark = b.locator("#breath-marks .breath-mark")
        expect(mark).to_have_count(1)
        expect(mark).to_have_attribute("title", re.compile(r"^\d\d:\d\d–\d\d:\d\d: breathing at 6/min"))

        # the week: today's sessions, the week's, and the comparison over the week
        b.locator("#sum-week").click()
        today = b.locator(".week-day[data-today='true'] .wd-breath")
        expect(today).to_have_text("1×")
        expect(b.locator(".week-day[data-today='true']")).to_have_attribute("aria-label", re.compile("1 breathing session"))
        week = b.locator("#week-settling")
        expect(week.locator(".breathing-count")).to_have_text(re.compile(r"^1 breathing session, \d+ min\.$"))
        expect(week.locator(".week-breath-days")).to_contain_text("Breathing by day:")
        expect(week.locator(".settling-figure")).to_contain_text("(this week; 6 of each needed)")
        b.screenshot(path=str(out / "settling-week.png"), full_page=True)
        # nothing sticks out of a phone's width
        width = b.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
    assert not errors, errors
