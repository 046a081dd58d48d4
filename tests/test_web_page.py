"""In Chromium: the page runs as ES modules without a console error, and live events
update the day in memory: a new episode or a name given elsewhere costs a fetch of that
one episode, never of the whole day (``/api/timeline``)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.sync_api import expect
from test_web_e2e import PHONE, browser  # noqa: F401  (browser is a fixture)
from test_web_live import MIN_MS, ServerThread, today_db  # noqa: F401  (today_db is a fixture)

from attune.api.sample import sample_span_store
from attune.db import db_connect

MODULES = ("main", "api", "time", "chart", "day", "sheet", "live", "scale", "spark", "motion", "breathe")


def test_events_update_the_day_without_fetching_it_again(today_db: Path, browser) -> None:  # noqa: F811
    if datetime.now().hour < 2:
        pytest.skip("the new two hours would start before midnight: the page shows today only")
    server = ServerThread(today_db)
    with server as base:
        page = browser.new_page(viewport=PHONE, device_scale_factor=2)
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        types: dict[str, str] = {}
        page.on("response", lambda r: types.__setitem__(urlparse(r.url).path, r.headers.get("content-type", "")))
        fetched: list[str] = []
        page.on("request", lambda r: fetched.append(r.url))
        page.goto(base + "/")

        before = httpx.get(base + "/api/episodes").json()["episodes"]  # today, here
        rows = page.locator("#episodes button[data-episode-id]")
        expect(rows).to_have_count(len(before), timeout=15_000)
        expect(page.locator("body")).to_have_attribute("data-live", "open", timeout=15_000)
        # the page is its modules, served as JavaScript (module scripts need it)
        for name in MODULES:
            assert types.get(f"/static/{name}.js", "").startswith("text/javascript"), (name, types)

        # two more hours are stored and analysed, and each new episode announced with its
        # id and start, as the live pipeline does
        now_ms = int(time.time() * 1000)
        conn = db_connect(today_db)
        sample_span_store(conn, now_ms - 120 * MIN_MS, 118 * 60, seed=23, n_activations=3, n_exertions=0, n_gaps=0)
        conn.close()
        after = httpx.get(base + "/api/episodes").json()["episodes"]
        new = [e for e in after if e["id"] not in {b["id"] for b in before}]
        assert new
        fetched.clear()
        for e in new:
            server.publish("episode", {"event": "ended", "id": e["id"], "at": e["end"] or e["start"], "start": e["start"]})
        expect(rows).to_have_count(len(after), timeout=10_000)

        # named on another phone: the tag event brings the name
        target = new[-1]
        assert httpx.put(f"{base}/api/episodes/{target['id']}/tag", json={"label": "waiting"}).status_code == 200
        expect(page.locator(f"#episodes button[data-episode-id='{target['id']}']")).to_contain_text("waiting")

        asked = [urlparse(u) for u in fetched]
        assert [u for u in asked if u.path == "/api/timeline"] == []
        lists = [parse_qs(u.query) for u in asked if u.path == "/api/episodes"]
        assert len(lists) >= len(new) + 1
        for q in lists:  # one episode each time: the instant it began
            span_ms = datetime.fromisoformat(q["to"][0]) - datetime.fromisoformat(q["from"][0])
            assert span_ms.total_seconds() <= 1
        assert problems == []


PURE_CHECKS = """async () => {
  const day = await import("/static/day.js");
  const chart = await import("/static/chart.js");
  const H = 3600e3, t0 = Date.parse("2026-11-19T00:00:00Z");
  const iso = (t) => new Date(t).toISOString();
  const none = () => Array(24).fill(null);
  const hr = none(); hr[0] = 60;
  const tl = { from: iso(t0), to: iso(t0 + 24 * H), first_at: iso(t0), bucket_s: 3600, hr_bpm: hr,
    ln_rmssd: none(), score: none(), score_scale: { min: -1, max: 4, activated: 1.5 }, states: [],
    episodes: [{ id: 1, start: iso(t0 + 5 * H), end: iso(t0 + 5 * H + 600e3), open: false, duration_s: 600 },
               { id: 2, start: iso(t0 + 9 * H), end: null, open: true, duration_s: 60 }],
    moments: [] };
  const d = day.dayFromTimeline(tl, t0 + 10e3);  // fetched 10 s in: bucket 0 is two ticks
  const out = {};
  out.added = day.dayTickAdd(d, { at: iso(t0 + 20e3), hr_bpm: 90, score: 1, state: "settled" });
  out.hr0 = d.hr_bpm[0];
  day.dayTickAdd(d, { at: iso(t0 + H + 5e3), hr_bpm: 100, score: 3, state: "activated" });
  day.dayTickAdd(d, { at: iso(t0 + 2 * H + 5e3), hr_bpm: 110, score: 3, state: "activated" });
  day.dayTickAdd(d, { at: iso(t0 + 9 * H + 120e3), score: 2, state: "activated" });
  out.hr = d.hr_bpm.slice(0, 3);
  out.states = d.states.map((s) => [s.state, (s.startMs - t0) / H, (s.endMs - t0) / H]);
  out.openDuration = d.episodes[1].duration_s;
  out.outside = day.dayTickAdd(d, { at: iso(t0 + 25 * H), score: 1, state: "settled" });
  // a fresh answer for 05:00: episode 1 named; then gone (discarded), episode 2 untouched
  day.dayEpisodesMerge(d, [{ ...d.episodes[0], tag: { label: "waiting" } }], [], [t0 + 5 * H, t0 + 5 * H + 1000]);
  out.named = d.episodes.map((e) => e.tag ? e.tag.label : null);
  day.dayEpisodesMerge(d, [], [], [t0 + 5 * H, t0 + 5 * H + 1000]);
  out.left = d.episodes.map((e) => e.id);
  // chart: 2400 device px for the day at dpr 2; a 9:00 open episode is a tap target
  const sc = chart.timelineScales(d, 2400, 440, 2);
  const boxes = chart.timelineHitboxes(d, sc);
  out.box = [boxes[0].x0, boxes[0].x1];
  out.near = chart.hitboxAt(boxes, boxes[0].x1 + 15, 2)?.episode.id ?? null;
  out.far = chart.hitboxAt(boxes, boxes[0].x1 + 25, 2);
  out.empty = chart.timelineIsEmpty(d);
  return out;
}"""


def test_the_day_model_and_chart_are_pure_and_incremental(today_db: Path, browser) -> None:  # noqa: F811
    """day.js folds ticks and single episodes into the day; chart.js computes tap targets
    apart from drawing. Run in Chromium as the page loads them; then a live tick on the
    real page is drawn without a fetch."""
    server = ServerThread(today_db)
    with server as base:
        page = browser.new_page(viewport=PHONE, device_scale_factor=2)
        fetched: list[str] = []
        page.on("request", lambda r: fetched.append(urlparse(r.url).path))
        page.goto(base + "/")
        expect(page.locator("body")).to_have_attribute("data-live", "open", timeout=15_000)
        got = page.evaluate(PURE_CHECKS)
        assert got["added"] is True and got["outside"] is False
        assert got["hr0"] == pytest.approx(70)  # (2 × 60 + 90) / 3: the fetched mean keeps its weight
        assert got["hr"] == [pytest.approx(70), 100, 110]
        assert got["states"] == [["settled", 0, 1], ["activated", 1, 3], ["activated", 9, 10]]
        assert got["openDuration"] == 120
        assert got["named"] == ["waiting", None] and got["left"] == [2]
        # 9:00; its 120 s are 3.3 px, drawn 3 css px wide (900–906); tapped within 44 css px
        # around its centre (issue 9, point 3)
        assert got["box"] == [859, 947]
        assert got["near"] == 2 and got["far"] is None and got["empty"] is False

        # the real page: a tick now draws the activated state on today's chart, fetching nothing
        chart = page.locator("#timeline")
        page.wait_for_timeout(500)
        before = chart.screenshot()
        fetched.clear()
        now = datetime.now().astimezone().isoformat()
        server.publish("tick", {"at": now, "state": "activated", "state_words": "activated", "hr_bpm": 150.0,
                                "ln_rmssd": 2.5, "score": 6.0, "calibration": {"done": True, "progress": 1.0}})
        expect(page.locator("#score")).to_have_text("100 / 100 · strongly activated", timeout=5_000)  # scale.js
        assert chart.screenshot() != before
        assert fetched == []
