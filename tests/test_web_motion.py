"""Motion on the phone page (issue 8), in real headless Chromium at 390x844 during
``attune demo``: the motion band under the day's chart where motion is known and "movement
unknown" where it is not, each episode's "while still" / "movement unknown", and "I was
moving" in one tap taking an episode out of the day's counts, surviving a reload, undone
by clearing the name.

The demo stores yesterday's simulated chest accelerometer; the tick and episode motion
columns are what the analysis makes of it. So that the test holds whatever the analysis
writes, it sets them itself on yesterday before the page opens: from the stored
accelerometer through signals.motion (the analysis' own features) until 15:00, nothing
after (a strap without motion)."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from playwright.sync_api import expect
from test_web_e2e import PHONE, browser, demo_running, output_dir  # noqa: F401  (browser is a fixture)

from attune.ingest.motion_store import acc_read
from attune.signals.motion import motion_ticks

UNKNOWN_FROM_H = 15  # yesterday, local: motion known before, unknown after


def _ms(d: datetime) -> int:
    return int(d.timestamp() * 1000)


def yesterday_motion_set(db: Path) -> tuple[int, int, int]:
    """Motion on yesterday's ticks and episodes as described above; returns (an episode
    with motion known, set still; an episode in the unknown part; the unknown part's start ms)."""
    day0 = (datetime.now().astimezone() - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    cut = _ms(day0.replace(hour=UNKNOWN_FROM_H))
    conn = sqlite3.connect(db, timeout=30)
    try:
        acc = acc_read(conn, _ms(day0), cut)
        assert len(acc) > 0, "the demo stored no accelerometer for yesterday"
        m = motion_ticks(acc.epoch_ms, acc.xyz_mg, rate_hz=acc.rate_hz)
        ok = np.isfinite(m.activity_mg) & (m.epoch_ms < cut)
        episodes = conn.execute("SELECT id, onset_ms FROM episode WHERE status != 'discarded' AND onset_ms >= ?"
                                " ORDER BY onset_ms", (_ms(day0),)).fetchall()
        known = next(i for i, t in episodes if t < cut - 3600_000)
        unknown = next(i for i, t in episodes if t >= cut)
        with conn:
            conn.execute("UPDATE tick SET activity_mg=NULL, posture=NULL, cadence_spm=NULL, hr_expected_bpm=NULL"
                         " WHERE epoch_ms >= ?", (_ms(day0),))
            conn.executemany("UPDATE tick SET activity_mg=?, posture=?, cadence_spm=? WHERE epoch_ms=?",
                             zip(m.activity_mg[ok].tolist(), [str(p) for p in m.posture[ok]],
                                 np.nan_to_num(m.cadence_spm[ok]).tolist(), m.epoch_ms[ok].tolist(), strict=True))
            conn.execute("UPDATE episode SET motion='unknown' WHERE onset_ms >= ?", (cut,))
            conn.execute("UPDATE episode SET motion='still' WHERE id=?", (known,))
        return known, unknown, cut
    finally:
        conn.close()


def episodes_counted(page) -> int:
    """The day summary's count of episodes ("7 episodes of activation…"; none: 0)."""
    body = page.locator("#summary-body")
    expect(body).not_to_have_text("…")
    text = body.inner_text()
    found = re.search(r"(\d+) episodes? of activation", text)
    return int(found.group(1)) if found else 0


def open_yesterday(page, base: str) -> None:
    page.goto(base + "/")
    expect(page.locator("#day-title")).to_have_text("Today")
    page.click("#day-prev")
    expect(page.locator("#day-title")).not_to_have_text("Today")
    page.locator("#episodes button[data-episode-id]").first.wait_for(timeout=15_000)
    expect(page.locator("#summary-body")).to_contain_text("of activation")


MOTION_PURE = """async () => {
  const m = await import("/static/motion.js");
  const M = 60e3;
  // a day of ten 1-min buckets: unknown, still, moving x2, unknown, still (reclined), unknown...
  const day = { fromMs: 0, toMs: 10 * M, firstMs: 0, bucketMs: M, motionScale: { moving_mg: 50 },
    activity_mg: [null, 5, 80, 80, null, 3, null, null, null, null],
    posture: [null, "upright", "upright", "upright", null, "reclined", null, null, null, null] };
  return {
    spans: m.motionSpans(day).map((s) => [s.kind, s.startMs / M, s.endMs / M]),
    changes: m.postureChanges(day).map((c) => [c.atMs / M, c.from, c.to]),
    none: m.motionSpans({ ...day, activity_mg: Array(10).fill(null) }).map((s) => [s.kind, s.startMs / M, s.endMs / M]),
    words: ["still", "moving", "unknown", undefined].map(m.episodeMotionWords),
    caps: [{ motion: true }, { motion: false }, { device: { has_acc: true } }, { device: { name: "H10" } }, null]
      .map(m.motionCapability),
    aside: [m.isSetAside({ tag: { label: "i was moving" } }), m.isSetAside({ tag: { label: "waiting" } }),
      m.isSetAside({ tag: null }), m.labelText("i was moving")],
  };
}"""


def test_motion_band_episode_motion_and_i_was_moving(browser, tmp_path: Path) -> None:  # noqa: F811
    out = output_dir(tmp_path)
    with demo_running(tmp_path) as (base, db, _proc):
        known, unknown, cut_ms = yesterday_motion_set(db)
        page = browser.new_page(viewport=PHONE, device_scale_factor=2)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        open_yesterday(page, base)

        # the page's motion rules (motion.js, pure), on a hand-made day
        got = page.evaluate(MOTION_PURE)
        assert got["spans"] == [["unknown", 0, 1], ["still", 1, 2], ["moving", 2, 4], ["unknown", 4, 5],
                                ["still", 5, 6], ["unknown", 6, 10]]
        assert got["changes"] == [[5, "upright", "reclined"]]
        assert got["none"] == [["unknown", 0, 10]]
        assert got["words"] == ["while still", "while moving", "movement unknown", "movement unknown"]
        assert got["caps"] == [True, False, True, None, None]
        assert got["aside"] == [True, False, False, "I was moving"]

        # the band: still and moving where motion is known, "movement unknown" after 15:00
        band = page.locator("#motion-band")
        expect(band).to_have_attribute("data-known", "yes")
        expect(band.locator(".mb[data-motion='still']").first).to_be_visible()
        expect(band.locator(".mb[data-motion='moving']").first).to_be_visible()  # the walks and exercise
        last = band.locator(".mb").last
        expect(last).to_have_attribute("data-motion", "unknown")
        expect(last).to_have_text("movement unknown")
        box, whole = last.bounding_box(), band.bounding_box()
        assert box and whole and box["height"] >= 12
        # the unknown part starts at 15:00 on the chart's time axis (the band spans the chart)
        day0 = (datetime.now().astimezone() - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        day1 = (day0 + timedelta(days=1, hours=2)).replace(hour=0)
        x_cut = whole["x"] + whole["width"] * (cut_ms - _ms(day0)) / (_ms(day1) - _ms(day0))
        assert abs(box["x"] - x_cut) < 4, (box, x_cut)
        chart = page.locator("#timeline").bounding_box()
        assert chart and abs(whole["width"] - chart["width"]) < 1 and whole["y"] >= chart["y"] + chart["height"] - 1
        for words in ("motion band: still", "motion band: moving", "motion band: posture change",
                      "motion band: movement unknown"):
            expect(page.locator("#legend")).to_contain_text(words)
        expect(band).to_have_attribute("aria-label", re.compile(r"^Movement: still \d+ min, moving [1-9]\d* min"))

        # exercise the strap felt: "moving — not counted" (the first bout is before 15:00)
        bout = page.locator("#chart-targets button.t-physical").first
        expect(bout).to_have_attribute("aria-label", re.compile("moving — not counted$"))
        bout.focus()
        bout.press("Enter")
        expect(page.locator("#toast")).to_contain_text("moving — not counted")

        # episodes: whether motion was known, in the list and the sheet
        row_known = page.locator(f"#episodes button[data-episode-id='{known}']")
        row_unknown = page.locator(f"#episodes button[data-episode-id='{unknown}']")
        expect(row_known.locator(".motion")).to_have_text("while still")
        expect(row_unknown.locator(".motion")).to_have_text("movement unknown")
        page.locator("#motion-band").scroll_into_view_if_needed()
        page.locator(".card.day").screenshot(path=str(out / "motion-band-day.png"))
        row_unknown.click()
        expect(page.locator("#sheet")).to_be_visible()
        expect(page.locator("#sheet-motion")).to_have_text("movement unknown")

        # "I was moving": one tap, and it is out of the day's counts
        before = episodes_counted(page)
        assert before >= 2
        moving = page.locator("#choose-moving")
        expect(moving).to_be_visible()
        box = moving.bounding_box()
        assert box and box["height"] >= 44 and box["width"] >= 44
        page.locator("#sheet").screenshot(path=str(out / "motion-sheet.png"))
        moving.click()
        expect(page.locator("#sheet")).to_be_hidden()
        expect(page.locator("#day-saved")).to_contain_text("set aside")
        expect(row_unknown.locator(".label")).to_have_text("I was moving")
        expect(row_unknown.locator(".motion")).to_contain_text("set aside, not counted")
        expect(page.locator("#summary-body")).to_contain_text(re.compile(rf"^{before - 1} episodes? of activation"))
        expect(page.locator("#summary-body")).to_contain_text("1 set aside")
        target = page.locator(f"#chart-targets button[data-episode-target='{unknown}']")
        expect(target).to_have_class(re.compile("ep-aside"))
        expect(target).to_have_attribute("aria-label", re.compile("set aside: I was moving"))

        # it survives a reload
        open_yesterday(page, base)
        expect(row_unknown.locator(".label")).to_have_text("I was moving")
        expect(page.locator("#summary-body")).to_contain_text("1 set aside")
        assert episodes_counted(page) == before - 1
        page.locator(".card.day").screenshot(path=str(out / "motion-set-aside.png"))

        # and is undone like any name: cleared, it counts again
        row_unknown.click()
        expect(page.locator("#choose-moving")).to_have_attribute("aria-pressed", "true")
        page.click("#sheet-clear")
        expect(row_unknown.locator(".label")).to_have_text("needs a name")
        expect(page.locator("#summary-body")).to_contain_text(re.compile(rf"^{before} episodes of activation"))
        expect(page.locator("#summary-body")).not_to_contain_text("set aside")
        assert errors == []
