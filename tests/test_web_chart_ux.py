"""Issue 9, points 1, 2, 3, 5, 7: the day's chart as a person reads it at 390×844 in
Chromium: a 0–100 activation scale with words and an ⓘ, labelled axes and threshold;
exercise unlike activation; tap targets ≥ 44 px, one selection with the list; named
episodes coloured and named on the chart; a legend of every state in the headline's words.

A served database: yesterday 10:00–16:00 with activations and exertions, some episodes
named (waiting, bracing, an own word), at least one left unnamed. Screenshots go to the
test's output dir."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from test_web_e2e import PHONE, browser, output_dir  # noqa: F401  (browser is a fixture)
from test_web_live import ServerThread

from attune.api import analysis
from attune.api.sample import sample_span_store
from attune.db import db_connect
from attune.signals.states import StateConfig

STATIC = Path(__file__).resolve().parents[1] / "api" / "static"


@pytest.fixture
def named_day(tmp_path: Path):
    """(base url, yesterday's episodes) with a server running on the stored day."""
    day0 = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    y0 = (day0 - timedelta(days=1)).replace(tzinfo=None).astimezone()
    start = y0.replace(hour=10)
    conn = db_connect(tmp_path / "attune.sqlite")
    sample_span_store(conn, int(start.timestamp() * 1000), 6 * 3600, seed=31, n_activations=5, n_exertions=2, n_gaps=0)
    conn.close()
    server = ServerThread(tmp_path / "attune.sqlite")
    with server as base:
        found = httpx.get(base + "/api/episodes", params={"from": y0.isoformat(), "to": day0.isoformat()}).json()
        eps = found["episodes"]
        assert len(eps) >= 4, eps
        for e, label in zip(eps, ["waiting", "bracing", "deadline"], strict=False):
            assert httpx.put(f"{base}/api/episodes/{e['id']}/tag", json={"label": label}).status_code == 200
        yield base, eps, server


def open_yesterday(browser, base: str, scheme: str = "light"):  # noqa: F811
    page = browser.new_page(viewport=PHONE, device_scale_factor=2, color_scheme=scheme)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(base + "/")
    expect(page.locator("#day-title")).to_have_text("Today")
    page.click("#day-prev")
    expect(page.locator("#day-title")).not_to_have_text("Today")
    page.locator("#episodes button[data-episode-id]").first.wait_for(timeout=15_000)
    page.locator("#chart-targets button").first.wait_for(timeout=5_000)
    return page, errors


# drawing the shown day onto a canvas that records what is written on it
CHART_TEXTS = """async () => {
  const chart = await import("/static/chart.js");
  const day = await import("/static/day.js");
  const c = document.getElementById("timeline");
  const y0 = new Date(); y0.setHours(0, 0, 0, 0); y0.setDate(y0.getDate() - 1);
  const y1 = new Date(y0); y1.setDate(y1.getDate() + 1);
  const tl = await (await fetch(`/api/timeline?from=${encodeURIComponent(y0.toISOString())}&to=${encodeURIComponent(y1.toISOString())}&max_points=390`)).json();
  const d = day.dayFromTimeline(tl, Date.now());
  const texts = [];
  const real = c.getContext("2d");
  const ctx = new Proxy(real, {
    get(t, k) {
      if (k === "fillText") return (s, x, y) => { texts.push(s); t.fillText(s, x, y); };
      const v = t[k]; return typeof v === "function" ? v.bind(t) : v;
    },
    set(t, k, v) { t[k] = v; return true; },
  });
  const sc = chart.timelineScales(d, c.width, c.height, 2);
  const color = (n) => getComputedStyle(document.documentElement).getPropertyValue(n).trim();
  chart.timelineDraw(ctx, d, sc, chart.timelineHitboxes(d, sc), color, Date.now(), null);
  return texts;
}"""

SCALE_JS = """async () => {
  const s = await import("/static/scale.js");
  return { min: s.SCORE_MIN, max: s.SCORE_MAX, act: s.ACTIVATE_SCORE, high: s.HIGH_SCORE,
           words: s.STATE_WORDS, legend: s.LEGEND_STATES, levels: [s.scoreLevel(-3), s.scoreLevel(0), s.scoreLevel(1.5), s.scoreLevel(3), s.scoreLevel(9)],
           texts: [s.scoreText(0), s.scoreText(1.6), s.scoreText(3.2), s.scoreText(null)] };
}"""


def test_point1_activation_reads_on_a_scale_with_axes_and_an_explanation(named_day, browser, tmp_path) -> None:  # noqa: F811
    base, _, server = named_day
    page, errors = open_yesterday(browser, base)
    got = page.evaluate(SCALE_JS)
    # one mapping, agreeing with the server's numbers
    assert (got["min"], got["max"]) == (analysis.SCORE_MIN, analysis.SCORE_MAX)
    assert got["act"] == StateConfig().activate_score == analysis.ACTIVATE_SCORE
    assert got["high"] == StateConfig().high_score
    assert got["levels"] == [0, 20, 50, 80, 100]
    assert got["texts"] == ["20 / 100 · usual range", "52 / 100 · activated", "84 / 100 · strongly activated", "—"]

    # the live card: a tick's score shows on the scale, with its band's words
    server.publish("tick", {"at": datetime.now().astimezone().isoformat(), "state": "activated",
                            "state_words": analysis.state_words("activated"), "hr_bpm": 95.0, "score": 1.6})
    expect(page.locator("#score")).to_have_text("52 / 100 · activated", timeout=10_000)

    # the chart: both lines have a labelled axis; the dashed threshold is labelled
    texts = page.evaluate(CHART_TEXTS)
    for t in ("activation 0–100", "heart rate bpm", "50 activated", "0", "100"):
        assert t in texts, texts
    assert sum(bool(re.fullmatch(r"\d{2,3}", t)) and t not in ("0", "100") for t in texts) >= 3  # bpm ticks
    expect(page.locator("#scale-note")).to_contain_text("0–100")

    # ⓘ: a 44 px button; one tap shows the one sentence, which says what 50 and 80 mean
    info = page.locator("#scale-info-button")
    box = info.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44
    info.click()
    expect(page.locator("#scale-info")).to_be_visible()
    expect(page.locator("#scale-info")).to_contain_text("50 and above is activated")
    expect(page.locator("#scale-info")).to_contain_text("80 and above strongly activated")
    page.screenshot(path=str(output_dir(tmp_path) / "chartux-scale-info.png"))
    assert errors == []


def _contrast(a: str, b: str) -> float:
    def lum(h: str) -> float:
        h = h.strip().lstrip("#")
        c = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    hi, lo = sorted([lum(a), lum(b)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_point2_exercise_is_not_activation(named_day, browser, tmp_path) -> None:  # noqa: F811
    base, _, server = named_day
    assert analysis.state_words("physical") == "exercise — not counted"
    for scheme in ("light", "dark"):
        page, errors = open_yesterday(browser, base, scheme)
        def css(n: str, page=page) -> str:
            return page.evaluate(f"getComputedStyle(document.documentElement).getPropertyValue('{n}').trim()")
        # exercise's colour stands apart from settled green (≥ 3:1, as for graphics)
        assert _contrast(css("--physical"), css("--settled")) >= 3, (scheme, css("--physical"), css("--settled"))
        # on the chart: each stretch of exercise is a target that says why it is not counted
        ex = page.locator("#chart-targets button.t-physical")
        assert ex.count() >= 1
        assert "exercise — not counted" in ex.first.get_attribute("aria-label")
        ex.first.focus()
        page.keyboard.press("Enter")  # (its pointer target may lie under an episode's: episodes win there)
        expect(page.locator("#toast")).to_contain_text("exercise — not counted")
        expect(page.locator("#sheet")).to_be_hidden()  # not an episode to name
        page.screenshot(path=str(output_dir(tmp_path) / f"chartux-exercise-{scheme}.png"), full_page=True)
        # the live card says it too, in its own colour (not the activated one)
        # (a connected strap with fresh beats: otherwise the headline rightly says so instead)
        now_iso = datetime.now().astimezone().isoformat()
        server.publish("link", {"kind": "connected", "value": {}, "at": now_iso})
        server.publish("beats", {"beats": [{"at": now_iso, "rr_ms": 600.0, "flags": 0}], "hr_bpm": 100})
        server.publish("state", {"at": datetime.now().astimezone().isoformat(), "state": "physical",
                                 "previous": "settled", "state_words": analysis.state_words("physical")})
        words = page.locator("#state-words")
        expect(words).to_have_text("exercise — not counted", timeout=10_000)
        ink = words.evaluate("e => getComputedStyle(e).color")
        activated_ink = page.evaluate("""() => { const e = document.createElement('p'); e.className = 'state-words';
            e.dataset.state = 'activated'; document.body.append(e); const c = getComputedStyle(e).color; e.remove(); return c; }""")
        assert ink != activated_ink
        page.screenshot(path=str(output_dir(tmp_path) / f"chartux-live-exercise-{scheme}.png"))
        assert errors == []
        page.close()


def test_point3_every_episode_is_a_44px_target_and_one_selection(named_day, browser, tmp_path) -> None:  # noqa: F811
    base, eps, _ = named_day
    page, errors = open_yesterday(browser, base)
    targets = page.locator("#chart-targets button[data-episode-target]")
    expect(targets).to_have_count(len(eps))
    for i in range(targets.count()):
        box = targets.nth(i).bounding_box()
        assert box["width"] >= 44, box
        assert box["height"] >= 44, box
    # tap an episode on the chart: its sheet opens and its row in the list is selected too
    unnamed = eps[3]  # not named by the fixture
    t = page.locator(f"#chart-targets button[data-episode-target='{unnamed['id']}']")
    tb = t.bounding_box()
    page.mouse.click(tb["x"] + tb["width"] / 2, tb["y"] + tb["height"] / 2)
    page.wait_for_selector("#sheet:not([hidden])")
    row = page.locator(f"#episodes button[data-episode-id='{unnamed['id']}']")
    expect(row).to_have_attribute("aria-current", "true")
    expect(t).to_have_attribute("aria-current", "true")
    page.screenshot(path=str(output_dir(tmp_path) / "chartux-selected-from-chart.png"))
    page.click("#sheet-cancel")
    # and from the list: the chart's target is selected, the same sheet opens
    first = page.locator(f"#episodes button[data-episode-id='{eps[0]['id']}']")
    first.click()
    page.wait_for_selector("#sheet:not([hidden])")
    expect(page.locator(f"#chart-targets button[data-episode-target='{eps[0]['id']}']")).to_have_attribute("aria-current", "true")
    expect(row).not_to_have_attribute("aria-current", "true")
    assert page.get_attribute("#choose-waiting", "aria-pressed") == "true"
    assert errors == []


def test_point5_named_episodes_show_their_name_on_the_chart(named_day, browser, tmp_path) -> None:  # noqa: F811
    base, eps, _ = named_day
    page, errors = open_yesterday(browser, base)
    kinds = {eps[0]["id"]: "ep-waiting", eps[1]["id"]: "ep-bracing", eps[2]["id"]: "ep-own"}
    for eid, cls in kinds.items():
        t = page.locator(f"#chart-targets button[data-episode-target='{eid}']")
        expect(t).to_have_class(re.compile(cls))
    names = {eps[0]["id"]: "waiting", eps[1]["id"]: "bracing", eps[2]["id"]: "deadline"}
    for eid, name in names.items():
        t = page.locator(f"#chart-targets button[data-episode-target='{eid}']")
        assert name in t.get_attribute("aria-label")
        shown = t.locator(".t-text").inner_text()
        assert shown in (name, name[0].upper()), (name, shown)  # the name, or its initial where crowded
    assert any(page.locator(f"#chart-targets button[data-episode-target='{eid}'] .t-text").inner_text() == n
               for eid, n in names.items())  # at least one whole name is written
    unnamed = eps[3:]  # (the list was fetched before the first three were named)
    assert unnamed
    for e in unnamed:
        t = page.locator(f"#chart-targets button[data-episode-target='{e['id']}']")
        expect(t).to_have_class(re.compile("unnamed"))
        assert "needs a name" in t.get_attribute("aria-label")
    # the list's name pills carry the same colours
    expect(page.locator(f"#episodes button[data-episode-id='{eps[1]['id']}'] .label")).to_have_class(re.compile("ep-bracing"))
    page.locator("#timeline").screenshot(path=str(output_dir(tmp_path) / "chartux-named-chart.png"))
    assert errors == []


def test_point7_legend_lists_every_state_in_the_headlines_words(named_day, browser, tmp_path) -> None:  # noqa: F811
    base, _, _ = named_day
    page, errors = open_yesterday(browser, base)
    got = page.evaluate(SCALE_JS)
    assert got["words"] == analysis.STATE_WORDS  # one table: the server's headline and the page
    assert set(got["legend"]) == set(analysis.STATE_WORDS)
    legend = page.locator("#legend li")
    texts = [legend.nth(i).inner_text().strip() for i in range(legend.count())]
    for words in analysis.STATE_WORDS.values():
        assert any(t.startswith(words) for t in texts), (words, texts)
    joined = " | ".join(texts)
    for needed in ("strongly activated", "grey, at the start", "dashed edge: needs a name", "solid edge: named",
                   "dashed line: activated from 50", "activation 0–100", "heart rate, bpm", "waiting", "bracing"):
        assert needed in joined, (needed, joined)
    # exertion is never called "moving" (too close to "settled"): that word is the motion
    # band's and the one-tap "I was moving"'s only (issue 8)
    assert all(t.startswith("motion band:") or "I was moving" in t for t in texts if "moving" in t), texts
    for needed in ("motion band: still", "motion band: moving", "motion band: posture change",
                   "motion band: movement unknown", "set aside: I was moving"):
        assert needed in joined, (needed, joined)
    page.locator(".card.day").screenshot(path=str(output_dir(tmp_path) / "chartux-legend.png"))
    assert errors == []
