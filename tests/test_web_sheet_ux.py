"""Issue 9, points 4, 8, 9 and 10, in Chromium at 390×844 during ``attune demo``: the live
card's headline agrees with the strap's link line; the date header is one line of ≥ 44 px
controls showing the date once; the sheet names episode after episode ("Save & next") with
a small chart of the moment; "Saved" covers nothing; the 5-minute trend is one labelled
series and today's chart is redrawn live. Screenshots go to the test's tmp dir."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect
from test_web_e2e import PHONE, _show_day_with_unnamed_episode, browser, demo_running, output_dir  # noqa: F401


@pytest.fixture(scope="module")
def demo_base(tmp_path_factory):
    """One ``attune demo`` for the module (starting it costs a history of analysed days)."""
    with demo_running(tmp_path_factory.mktemp("demo"), duration_s=600) as (base, _, _):
        yield base


def phone(browser, base: str):  # noqa: F811
    page = browser.new_page(viewport=PHONE, device_scale_factor=2)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(base + "/")
    expect(page.locator("body")).to_have_attribute("data-live", "open", timeout=20_000)
    return page, errors


def tall_enough(page, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44, (selector, box)


HEADLINE_CASES = """async () => {
  const { liveHeadline } = await import("/static/live.js");
  const c = { mode: "live", connection: "connected", beatAgeS: 1, calibration: { done: false, progress: 0.4 } };
  return {
    noBeats: liveHeadline({ ...c, beatAgeS: null }).words,
    stale: liveHeadline({ ...c, beatAgeS: 30 }).words,
    warming: liveHeadline({ ...c, runS: 20, state: "unknown", stateWords: "no clear signal" }).words,
    warmingNoTick: liveHeadline({ ...c, runS: null, state: null }).words,
    unclear: liveHeadline({ ...c, runS: 300, state: "unknown", stateWords: "no clear signal" }).words,
    contact: liveHeadline({ ...c, contact: false, runS: 300, state: "unknown" }).words,
    calibrating: liveHeadline({ ...c, runS: 300, state: "calibrating", stateWords: "getting to know you" }).words,
    settled: liveHeadline({ ...c, runS: 300, state: "settled", stateWords: "settled",
                            calibration: { done: true, progress: 1 } }).words,
    away: liveHeadline({ ...c, connection: "reconnecting" }).words,
    off: liveHeadline({ ...c, connection: "disconnected" }).words,
    stored: liveHeadline({ mode: "stored", connection: "disconnected", state: "settled", stateWords: "settled" }).words,
  };
}"""


def test_point4_the_headline_says_what_is_happening(browser, tmp_path: Path) -> None:  # noqa: F811
    with demo_running(tmp_path, duration_s=600) as (base, _, _):
        page, errors = phone(browser, base)
        headline_checks(page, errors, output_dir(tmp_path))


def headline_checks(page, errors: list[str], out: Path) -> None:
    got = page.evaluate(HEADLINE_CASES)
    assert got == {
        "noBeats": "waiting for beats",
        "stale": "waiting for beats",
        "warming": "warming up: first minute of beats",
        "warmingNoTick": "warming up: first minute of beats",
        "unclear": "beats unclear: check the strap's fit",
        "contact": "no skin contact: moisten the strap",
        "calibrating": "calibrating: 40 % of your baseline",
        "settled": "settled",
        "away": "looking for the strap",
        "off": "strap not connected",
        "stored": "settled",
    }
    # the real first minutes of a fresh demo, every second: the strap's first minute of beats
    # gives no valid tick ("no clear signal" before); the headline says it is warming up,
    # then the state, never a message at odds with "strap connected"
    seen: list[str] = []
    for _ in range(110):
        head, link = page.text_content("#state-words").strip(), page.text_content("#link-text").strip()
        if not seen or seen[-1] != head:
            seen.append(head)
            if head.startswith("warming up"):
                page.screenshot(path=str(out / "point4-warming-up.png"))
        assert head not in ("", "—", "no clear signal", "listening…", "beats unclear: check the strap's fit"), (
            head,
            link,
        )
        if link.startswith("strap connected"):
            assert "not connected" not in head and "looking for" not in head, (head, link)
        if "warming up: first minute of beats" in seen and not head.startswith("warming up"):
            break
        page.wait_for_timeout(1000)
    assert "warming up: first minute of beats" in seen, seen
    assert not seen[-1].startswith("warming up"), seen  # and it ends: a state follows
    page.screenshot(path=str(out / "point4-after.png"))
    assert errors == [], errors


def test_point8_date_header_one_line_big_targets(demo_base, browser, tmp_path: Path) -> None:  # noqa: F811
    page, errors = phone(browser, demo_base)
    expect(page.locator("#day-title")).to_have_text("Today")
    page.click("#day-prev")
    expect(page.locator("#day-title")).not_to_have_text("Today")
    for sel in ("#day-prev", "#day-next", "#day-pick", "#sum-day", "#sum-week"):
        tall_enough(page, sel)
    title = page.locator("#day-title")
    tb, prev, nxt = (
        title.bounding_box(),
        page.locator("#day-prev").bounding_box(),
        page.locator("#day-next").bounding_box(),
    )
    line = float(title.evaluate("e => parseFloat(getComputedStyle(e).lineHeight) || 24"))
    assert tb["height"] <= line * 1.2, (tb, line)  # one line: "Sun, Nov 29" does not wrap
    mid = lambda b: b["y"] + b["height"] / 2  # noqa: E731
    assert abs(mid(tb) - mid(prev)) < 6 and abs(mid(tb) - mid(nxt)) < 6  # ‹ date › on one row
    assert prev["x"] < tb["x"] < nxt["x"] and nxt["x"] + nxt["width"] <= 390
    # the date is shown once: the field lies invisibly over the title (tapping it picks a day)
    assert page.locator("#day-pick").evaluate("e => getComputedStyle(e).opacity") == "0"
    pick = page.locator("#day-pick").bounding_box()
    assert pick["x"] <= tb["x"] and pick["x"] + pick["width"] >= tb["x"] + tb["width"]
    visible = page.locator(".day-head").inner_text()
    assert visible.count(title.inner_text().strip()) == 1
    page.locator(".day-head").screenshot(path=str(output_dir(tmp_path) / "point8-header.png"))
    page.screenshot(path=str(output_dir(tmp_path) / "point8-day.png"))
    assert errors == [], errors


SHEET_PURE = """async () => {
  const sheet = await import("/static/sheet.js");
  const iso = (t) => new Date(t).toISOString();
  const t0 = Date.parse("2026-11-19T00:00:00Z"), M = 60e3;
  const ep = (id, min, tag = null) => ({ id, start: iso(t0 + min * M), end: iso(t0 + (min + 5) * M), open: false,
                                          duration_s: 300, tag, needs_name: tag == null });
  const eps = [ep(1, 60), ep(2, 120, { label: "waiting" }), ep(3, 180), ep(4, 240)];
  const out = {};
  out.after1 = sheet.unnamedAfter(eps, eps[0])?.id;
  out.after4 = sheet.unnamedAfter(eps, eps[3])?.id;       // wraps to the earliest
  out.none = sheet.unnamedAfter([eps[0]], eps[0]);
  const hr = Array(288).fill(null).map((_, i) => 60 + (i % 7));
  const day = { fromMs: t0, toMs: t0 + 1440 * M, firstMs: t0, bucketMs: 5 * M, hr_bpm: hr };
  const m = sheet.momentPoints(day, t0 + 60 * M, t0 + 65 * M);
  out.moment = [(m.fromMs - t0) / M, (m.toMs - t0) / M, m.points.length];
  const spark = await import("/static/spark.js");
  const L = spark.sparkLayout([[0, 61], [1, 77]], 600, 144, 2, 0, 1);
  out.axis = [L.lo, L.hi];
  // an open episode in the sheet: "since 14:02", nothing "lasted"
  const start = new Date(); start.setHours(14, 2, 0, 0);
  sheet.sheetOpen({ kind: "episode", episode: { id: 99999, start: start.toISOString(), end: null, open: true,
    duration_s: 240, peak_score: 2.5, delta_hr_bpm: 12, recovery_s: null, half_recovery_s: null, tag: null, needs_name: true } });
  out.when = document.getElementById("sheet-when").textContent;
  out.numbers = document.getElementById("sheet-numbers").textContent;
  document.getElementById("sheet-cancel").click();
  return out;
}"""


def test_point9_next_unnamed_and_a_chart_of_the_moment(demo_base, browser, tmp_path: Path) -> None:  # noqa: F811
    out = output_dir(tmp_path)
    page, errors = phone(browser, demo_base)
    got = page.evaluate(SHEET_PURE)
    assert got["after1"] == 3 and got["after4"] == 1 and got["none"] is None
    assert got["moment"] == [50, 75, 5]  # 5-min buckets: the episode ± two buckets (10 min), 5 buckets
    assert got["axis"] == [60, 80]
    assert got["when"] == "since 14:02 · still going"
    assert "lasted" not in got["numbers"] and "still going" in got["numbers"]

    _show_day_with_unnamed_episode(page)
    unnamed = page.locator("#episodes button[data-episode-id]").filter(has_text="needs a name")
    n = unnamed.count()
    assert n >= 2, "the demo's day should have several episodes to name"
    first = unnamed.first.get_attribute("data-episode-id")
    unnamed.first.click()
    page.wait_for_selector("#sheet:not([hidden])")
    # the moment's chart: drawn, with its span in words
    chart = page.locator("#sheet-chart")
    expect(chart).to_be_visible()
    cb = chart.bounding_box()
    assert cb["height"] >= 60 and cb["width"] >= 300
    expect(page.locator("#sheet-chart-cap")).to_have_text(re.compile(r"^Heart rate \d\d:\d\d–\d\d:\d\d \(bpm\)"))
    expect(page.locator("#sheet-next")).to_be_visible()
    tall_enough(page, "#sheet-next")
    tall_enough(page, "#sheet-save-next")
    expect(page.locator("#sheet-left")).to_have_text(
        f"{n - 1} more episode{'s' if n > 2 else ''} of this day need{'' if n > 2 else 's'} a name"
    )
    page.screenshot(path=str(out / "point9-sheet.png"))
    when_before = page.text_content("#sheet-when")

    # name it: the sheet moves straight on to the next unnamed episode, saying it saved
    page.click("#choose-waiting")
    page.click("#sheet-save-next")
    expect(page.locator("#sheet-saved")).to_have_text(re.compile(r"^Saved: \d\d:\d\d named “waiting”"))
    expect(page.locator("#sheet")).to_be_visible()
    assert page.text_content("#sheet-when") != when_before
    assert page.get_attribute("#choose-waiting", "aria-pressed") == "false"  # a fresh, unnamed one
    page.screenshot(path=str(out / "point9-next.png"))
    expect(page.locator(f"#episodes button[data-episode-id='{first}']")).to_contain_text("waiting")
    # "Next unnamed" skips without naming
    when_second = page.text_content("#sheet-when")
    if n >= 3:
        page.click("#sheet-next")
        expect(page.locator("#sheet-when")).not_to_have_text(when_second)
    page.click("#sheet-cancel")
    expect(unnamed).to_have_count(n - 1)
    assert errors == [], errors


def test_point10_saved_covers_nothing_trend_one_series_chart_live(demo_base, browser, tmp_path: Path) -> None:  # noqa: F811
    out = output_dir(tmp_path)
    page, errors = phone(browser, demo_base)
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(urlparse(r.url).path))
    expect(page.locator("#hr")).to_have_text(re.compile(r"^\d+$"), timeout=20_000)

    # the trend: one series (the ticks' heart rate, ≥ 5 s apart, never beat-to-beat), labelled
    expect(page.locator("#trend-cap")).to_have_text(re.compile(r"Heart rate, last 5 minutes \(bpm"))
    chart = page.locator("#timeline")
    page.wait_for_timeout(1500)
    before = chart.screenshot()
    fetched.clear()
    page.wait_for_timeout(16_000)  # three ticks or more
    points = page.evaluate("async () => (await import('/static/live.js')).trendPoints()")
    assert len(points) >= 3
    gaps = [b[0] - a[0] for a, b in zip(points, points[1:], strict=False)]
    assert min(gaps) >= 4_500, gaps[:20]
    page.locator("#live").screenshot(path=str(out / "point10-trend.png"))
    # today's chart takes the ticks in without fetching the day again
    assert "/api/timeline" not in fetched
    assert chart.screenshot() != before

    # "Saved." lands in the page's flow, over no button
    _show_day_with_unnamed_episode(page)
    row = page.locator("#episodes button[data-episode-id]").filter(has_text="needs a name").last
    row.click()
    page.wait_for_selector("#sheet:not([hidden])")
    page.click("#choose-bracing")
    page.click("#sheet-save")  # Save (not "& next") closes the sheet
    expect(page.locator("#sheet")).to_be_hidden()
    saved = page.locator("#day-saved")
    expect(saved).to_have_text(re.compile(r"^Saved: "))
    expect(page.locator("#toast")).to_be_hidden()
    sb, mb = saved.bounding_box(), page.locator("#mark-moment").bounding_box()
    assert sb["y"] + sb["height"] <= mb["y"] or mb["y"] + mb["height"] <= sb["y"], (sb, mb)
    page.locator("#mark-moment").scroll_into_view_if_needed()
    page.screenshot(path=str(out / "point10-saved.png"))
    assert errors == [], errors
