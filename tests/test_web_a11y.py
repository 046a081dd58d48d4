"""Issue 9, "how it is checked": accessibility and keyboard, in Chromium during ``attune demo``.

- axe-core (the copy ``axe-playwright-python`` ships: nothing is fetched) finds no serious or
  critical violation, and no text whose contrast it could not decide, on the day view, the week
  view, an open episode sheet, the in-the-moment prompt, the scale's explanation and the pairing
  page, at 390×844 and 1280×800, light and dark. Each of those views is saved as a screenshot
  under the test's tmp dir (or $ATTUNE_TEST_OUTPUT); the folder is printed.
- Keyboard only: Tab reaches every control (‹ › the date, the chart's episodes, the list, the
  Day/Week tabs, the sheet's buttons, the prompt's answers, "I was moving"), each shows a focus
  ring of ≥ 3:1 against its card, Enter/Space operate them, Tab stays inside the open sheet,
  Escape closes it and focus returns to the control that opened it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect
from test_web_e2e import PHONE, _show_day_with_unnamed_episode, browser, demo_running, output_dir  # noqa: F401

DESKTOP = {"width": 1280, "height": 800}
SIZES = {"phone": PHONE, "desktop": DESKTOP}
BLOCKING = {"serious", "critical"}
AXE = Axe()  # axe-core from the package's own file, injected into the page under test


@pytest.fixture(scope="module")
def demo_base(tmp_path_factory):
    """One ``attune demo`` for the module (starting it costs a history of analysed days)."""
    with demo_running(tmp_path_factory.mktemp("demo"), duration_s=900) as (base, _, _):
        yield base


def _open(browser, base: str, size: str, scheme: str):  # noqa: F811
    page = browser.new_page(viewport=SIZES[size], device_scale_factor=1 if size == "desktop" else 2, color_scheme=scheme)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(base + "/")
    expect(page.locator("body")).to_have_attribute("data-live", "open", timeout=20_000)
    return page, errors


# the text colour of an element and the first solid background under it in the document, or
# null where a gradient or an image lies between (no single colour to measure against)
SOLID_GROUND = """(sel) => {
  const el = document.querySelector(sel);
  for (let a = el; a; a = a.parentElement) {
    const cs = getComputedStyle(a);
    if (cs.backgroundImage !== "none") return null;
    const alpha = cs.backgroundColor.startsWith("rgba") ? parseFloat(cs.backgroundColor.split(",")[3]) : 1;
    if (alpha === 0) continue;
    if (alpha < 1) return null;
    return { color: getComputedStyle(el).color, bg: cs.backgroundColor, opacity: getComputedStyle(el).opacity };
  }
  return null;
}"""


def axe_problems(page) -> list[str]:
    """Serious or critical axe violations, and colour-contrast checks axe left undecided
    (text over a gradient or an image passes no check otherwise), one line per node. An
    undecided one counts as passed only where the text lies on a solid opaque background in
    the document (axe cannot see through the top layer a popover opens in) at >= 4.5:1."""
    found = AXE.run(page, options={"resultTypes": ["violations", "incomplete"]}).response
    assert found["testEngine"]["name"] == "axe-core"
    lines = []
    for kind in ("violations", "incomplete"):
        for v in found[kind]:
            if v["impact"] not in BLOCKING or (kind == "incomplete" and v["id"] != "color-contrast"):
                continue
            for node in v["nodes"]:
                if kind == "incomplete" and len(node["target"]) == 1:
                    ground = page.evaluate(SOLID_GROUND, node["target"][0])
                    if ground and ground["opacity"] == "1" and contrast(ground["color"], ground["bg"]) >= 4.5:
                        continue
                why = "; ".join(c["message"] for c in node["any"] + node["all"] + node["none"])
                lines.append(f"{kind} {v['id']} ({v['impact']}) at {node['target']}: {why}")
    return lines


def all_episodes(base: str) -> list[dict]:
    """The demo's episodes of the last week and up to tomorrow."""
    now = datetime.now(UTC)
    span = {"from": (now - timedelta(days=7)).isoformat(), "to": (now + timedelta(days=1)).isoformat()}
    return httpx.get(base + "/api/episodes", params=span).json()["episodes"]


def _settle(page) -> None:
    page.wait_for_timeout(400)  # the chart and list redraw after their fetches; transitions end


def _prompt_show(page, base: str) -> int:
    """The in-the-moment prompt for one of today's (or the last) unnamed episodes, as the SSE
    'started' event would ask it (the event's own path is tested in test_web_prompt)."""
    eps = [e for e in all_episodes(base) if e["needs_name"]]
    e = eps[-1]
    asked = page.evaluate("""async ([id, start]) => {
      const { promptAsk } = await import("/static/prompt.js");
      return promptAsk({ id, startMs: Date.parse(start), open: true });
    }""", [e["id"], e["start"]])
    assert asked
    expect(page.locator("#ask")).to_be_visible()
    return e["id"]


@pytest.mark.parametrize("size,scheme", [("phone", "light"), ("phone", "dark"), ("desktop", "light"), ("desktop", "dark")])
def test_axe_finds_nothing_serious_and_every_view_is_saved(demo_base, browser, tmp_path: Path, capsys,  # noqa: F811
                                                          size: str, scheme: str) -> None:
    out = output_dir(tmp_path)
    page, errors = _open(browser, demo_base, size, scheme)
    problems: dict[str, list[str]] = {}

    def view(name: str, full_page: bool = False) -> None:
        _settle(page)
        page.screenshot(path=str(out / f"{size}-{scheme}-{name}.png"), full_page=full_page)
        problems[name] = axe_problems(page)

    _show_day_with_unnamed_episode(page)
    view("day", full_page=True)
    page.click("#scale-info-button")
    expect(page.locator("#scale-info")).to_be_visible()
    view("scale-info")
    page.keyboard.press("Escape")
    page.click("#sum-week")
    expect(page.locator("#summary-body .week-range")).to_be_visible(timeout=10_000)
    page.locator("#summary-body").scroll_into_view_if_needed()
    view("week")
    page.click("#sum-day")
    page.locator("#episodes button[data-episode-id]").first.click()
    expect(page.locator("#sheet")).to_be_visible()
    view("sheet")
    page.click("#sheet-cancel")
    page.evaluate("window.scrollTo(0, 0)")
    _prompt_show(page, demo_base)
    view("prompt")
    page.goto(demo_base + "/pair")
    expect(page.locator("#pair-code")).to_be_visible()
    view("pair")

    with capsys.disabled():  # shown even when pytest captures the output
        print(f"\nscreenshots ({size}, {scheme}): {out}")
    assert {k: v for k, v in problems.items() if v} == {}
    assert errors == []
    for name in problems:
        assert (out / f"{size}-{scheme}-{name}.png").stat().st_size > 5_000


# -- keyboard ------------------------------------------------------------------------------------
FOCUSED = """() => {
  const a = document.activeElement;
  if (!a || a === document.body) return null;
  // the date field lies invisibly over the title: its wrapper shows the ring
  const ringEl = a.id === "day-pick" ? a.parentElement : a;
  const cs = getComputedStyle(ringEl);
  let bg = null;
  for (let el = ringEl.parentElement; el; el = el.parentElement) {
    const c = getComputedStyle(el).backgroundColor;
    if (c && c !== "rgba(0, 0, 0, 0)" && c !== "transparent") { bg = c; break; }
  }
  bg = bg || getComputedStyle(document.body).backgroundColor;
  return { id: a.id, key: a.dataset.key || null, cls: a.className, inSheet: !!a.closest("#sheet"),
           inAsk: !!a.closest("#ask"), text: (a.getAttribute("aria-label") || a.textContent || "").trim(),
           ring: cs.outlineStyle, ringPx: parseFloat(cs.outlineWidth), ringColor: cs.outlineColor, bg };
}"""


def _rgb(css: str) -> tuple[float, float, float]:
    r, g, b = (float(x) for x in re.findall(r"[\d.]+", css)[:3])
    return r, g, b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two CSS rgb() colours."""
    def lum(c: str) -> float:
        ch = [v / 255 for v in _rgb(c)]
        ch = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in ch]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _show_day_with_two_unnamed_episodes(page) -> None:
    """Today if it has two episodes needing a name (the walk names one and sets one aside),
    else yesterday, a whole simulated day: how many today has depends on the time of day
    and on what the first pass (light) already named."""
    expect(page.locator("#day-title")).to_have_text("Today")
    unnamed = page.locator("#episodes button[data-episode-id]").filter(has_text="needs a name")
    try:
        unnamed.nth(1).wait_for(timeout=5_000)
    except PlaywrightTimeout:
        page.click("#day-prev")
        expect(page.locator("#day-title")).not_to_have_text("Today")
        unnamed.nth(1).wait_for(timeout=15_000)


def tab_until(page, want, limit: int = 80, back: bool = False) -> dict:
    """Press Tab (Shift+Tab with `back`) until `want(focused)`; every stop must show a visible
    focus ring. Returns the focused element's description."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        f = page.evaluate(FOCUSED)
        if f is None:
            continue
        assert f["ring"] not in ("none", "") and f["ringPx"] >= 2, f
        assert contrast(f["ringColor"], f["bg"]) >= 3, f
        if want(f):
            return f
    raise AssertionError(f"Tab never reached the control ({limit} presses)")


def by_id(name: str):
    return lambda f: f["id"] == name


def test_every_control_works_from_the_keyboard(demo_base, browser, tmp_path: Path) -> None:  # noqa: F811
    for scheme in ("light", "dark"):
        page, errors = _open(browser, demo_base, "phone", scheme)
        expect(page.locator("#day-title")).to_have_text("Today")
        expect(page.locator("#episodes button[data-key]").first).to_be_attached(timeout=15_000)
        _settle(page)

        # the date header: ‹ and › (which keeps the focus when it turns off on reaching today),
        # then the date field, whose first part the arrow keys step
        tab_until(page, by_id("day-prev"))
        page.keyboard.press("Enter")
        expect(page.locator("#day-title")).not_to_have_text("Today")
        tab_until(page, by_id("day-next"))
        page.keyboard.press("Space")
        expect(page.locator("#day-title")).to_have_text("Today")
        expect(page.locator("#day-next")).to_be_focused()
        expect(page.locator("#day-next")).to_have_attribute("aria-disabled", "true")
        tab_until(page, by_id("day-prev"), back=True)
        tab_until(page, by_id("day-pick"))
        page.keyboard.press("ArrowDown")
        expect(page.locator("#day-title")).not_to_have_text("Today", timeout=5_000)
        page.reload()
        expect(page.locator("body")).to_have_attribute("data-live", "open", timeout=20_000)
        _show_day_with_two_unnamed_episodes(page)
        _settle(page)
        page.locator("body").focus()
        page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")

        # an episode on the chart: Space opens its sheet; Tab stays in the sheet; Escape
        # closes it and focus is back on the chart's button
        target = tab_until(page, lambda f: "chart-target" in f["cls"] and "t-episode" in f["cls"])
        page.keyboard.press("Space")
        expect(page.locator("#sheet")).to_be_visible()
        seen = set()
        for _ in range(30):
            page.keyboard.press("Tab")
            f = page.evaluate(FOCUSED)
            if f is None:  # past the last control: out to the browser, then back to the first
                continue
            assert f["inSheet"] or f["inAsk"], f  # never the page behind the sheet
            assert f["ring"] not in ("none", "") and f["ringPx"] >= 2, f
            seen.add(f["id"])
        assert {"choose-moving", "choose-waiting", "choose-bracing", "label-other", "note", "sheet-cancel", "sheet-save"} <= seen
        page.keyboard.press("Escape")
        expect(page.locator("#sheet")).to_be_hidden()
        back = page.evaluate(FOCUSED)
        assert back is not None and back["key"] == target["key"] and "chart-target" in back["cls"], back

        # the scale's explanation: Enter opens it, Escape closes it
        tab_until(page, by_id("scale-info-button"))
        page.keyboard.press("Enter")
        expect(page.locator("#scale-info")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.locator("#scale-info")).to_be_hidden()

        # an unnamed episode in the list: Enter opens it, Waiting (Space) and Save (Enter) name
        # it; focus is back on its row, which now says so
        row = tab_until(page, lambda f: f["key"] is not None and "needs a name" in f["text"] and "chart-target" not in f["cls"])
        page.keyboard.press("Enter")
        expect(page.locator("#sheet")).to_be_visible()
        tab_until(page, by_id("choose-waiting"))
        page.keyboard.press("Space")
        expect(page.locator("#choose-waiting")).to_have_attribute("aria-pressed", "true")
        tab_until(page, by_id("sheet-save"))
        page.keyboard.press("Enter")
        expect(page.locator("#sheet")).to_be_hidden()
        expect(page.locator(f"#episodes button[data-key='{row['key']}']")).to_contain_text("waiting")
        expect(page.locator(f"#episodes button[data-key='{row['key']}']")).to_be_focused()

        # "I was moving" on the next unnamed row: set aside, focus back on the row
        row = tab_until(page, lambda f: f["key"] is not None and "needs a name" in f["text"] and "chart-target" not in f["cls"])
        page.keyboard.press("Enter")
        expect(page.locator("#sheet")).to_be_visible()
        tab_until(page, by_id("choose-moving"))
        page.keyboard.press("Enter")
        expect(page.locator("#sheet")).to_be_hidden()
        expect(page.locator(f"#episodes button[data-key='{row['key']}']")).to_contain_text("moving")
        expect(page.locator(f"#episodes button[data-key='{row['key']}']")).to_be_focused()

        # the Day/Week tabs: Enter shows the week, ← goes back to the day
        tab_until(page, by_id("sum-week"))
        page.keyboard.press("Enter")
        expect(page.locator("#sum-week")).to_have_attribute("aria-selected", "true")
        expect(page.locator("#summary-body .week-range")).to_be_visible(timeout=10_000)
        page.keyboard.press("ArrowLeft")
        expect(page.locator("#sum-day")).to_have_attribute("aria-selected", "true")
        expect(page.locator("#sum-day")).to_be_focused()

        # the in-the-moment prompt: its answers come first in the Tab order; Enter on Bracing names it
        episode_id = _prompt_show(page, demo_base)
        page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
        tab_until(page, lambda f: f["inAsk"] and f["text"] == "Bracing", limit=6)
        page.keyboard.press("Enter")
        expect(page.locator("#ask")).to_be_hidden()
        expect(page.locator("#ask-said")).to_contain_text("bracing")
        assert next(e for e in all_episodes(demo_base) if e["id"] == episode_id)["tag"]["label"] == "bracing"

        # Mark a moment: reachable, opens the sheet, Escape returns to it
        tab_until(page, by_id("mark-moment"))
        page.keyboard.press("Enter")
        expect(page.locator("#sheet")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.locator("#mark-moment")).to_be_focused()
        assert errors == []
        page.close()
