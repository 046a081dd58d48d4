"""The phone page on a full day: what it downloads and how soon the day's chart is drawn.

A full simulated day (24 h, ~90k beats, stored and analysed, with motion) is served by the real
app under uvicorn on 127.0.0.1; headless Debian Chromium opens the page at 390×844 and:

  * page load: the bytes of every response (HTML, CSS, JS modules, icons, the first API
    answers; the SSE stream excluded) — goal for the page with its data < 200 KB; and the
    time to DOMContentLoaded and to the first contentful paint;
  * the full day: ‹ from today to that day, the time until its chart and list are drawn (a
    MutationObserver on the list, read in the page), against the /api/timeline round trip of
    the same click (so the share the browser adds is a ratio of this run), and the bytes the
    switch downloads.

Run: python bench/bench_page.py  (needs /usr/bin/chromium)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright

from attune.api.sample import sample_db
from attune.db import db_connect
from attune.timeutil import datetime_to_epoch_ms

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_web_live import ServerThread  # noqa: E402  (the app served live, as the browser tests do)

RUNS = 7
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

# in the page before its scripts: when ‹ is clicked, and when the list is next filled after it
WATCH = """
window.__bench = { clickAt: null, drawnAt: null };
document.addEventListener("click", (ev) => {
  if (ev.target.closest && ev.target.closest("#day-prev")) { window.__bench.clickAt = performance.now(); window.__bench.drawnAt = null; }
}, true);
document.addEventListener("DOMContentLoaded", () => {
  new MutationObserver(() => {
    const b = window.__bench, list = document.getElementById("episodes");
    if (b.clickAt != null && b.drawnAt == null && list.children.length > 0) b.drawnAt = performance.now();
  }).observe(document.getElementById("episodes"), { childList: true });
});
"""

TIMINGS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  const b = window.__bench;
  const tl = performance.getEntriesByType("resource").filter((e) => e.name.includes("/api/timeline") && e.startTime >= b.clickAt);
  return { dcl: nav.domContentLoadedEventEnd, fcp: fcp ? fcp.startTime : null,
           drawn: b.drawnAt - b.clickAt, timeline: tl.length ? tl[0].responseEnd - b.clickAt : null };
}"""


def _size_note(sizes: dict[str, int], request) -> None:
    """Note a finished request's body size; one finishing as the page closes has none."""
    try:
        sizes[request.url] = request.sizes()["responseBodySize"]
    except PlaywrightError:
        pass


def main() -> None:
    midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        db_path = sample_db(Path(d) / "day.sqlite", hours=24, end_ms=datetime_to_epoch_ms(midnight), motion=True)
        conn = db_connect(db_path)
        day0 = datetime_to_epoch_ms(midnight - timedelta(days=1))
        beats = conn.execute("SELECT count(*) FROM beat WHERE epoch_ms >= ?", (day0,)).fetchone()[0]
        conn.close()
        print(f"full day: {beats} beats (simulated with motion, stored and analysed in {time.perf_counter() - t0:.1f} s)")

        load_kb, switch_kb, dcl, fcp, drawn, timeline = [], [], [], [], [], []
        with ServerThread(db_path) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for run in range(RUNS):
                page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
                sizes: dict[str, int] = {}
                page.on("requestfinished", lambda r, sizes=sizes: _size_note(sizes, r))
                page.add_init_script(WATCH)
                page.goto(base + "/")
                expect(page.locator("body")).to_have_attribute("data-live", "open", timeout=20_000)
                page.wait_for_load_state("networkidle")
                loaded = dict(sizes)
                page.click("#day-prev")
                expect(page.locator("#episodes button[data-key]").first).to_be_attached(timeout=20_000)
                page.wait_for_load_state("networkidle")
                t = page.evaluate(TIMINGS)
                load_kb.append(sum(loaded.values()) / 1000)
                switch_kb.append(sum(v for k, v in sizes.items() if k not in loaded) / 1000)
                dcl.append(t["dcl"])
                fcp.append(t["fcp"] or float("nan"))
                drawn.append(t["drawn"])
                timeline.append(t["timeline"])
                if run == 0:
                    by_kind: dict[str, float] = {}
                    for url, n in loaded.items():
                        kind = "api" if "/api/" in url else url.rsplit(".", 1)[-1] if "/static/" in url else "html"
                        by_kind[kind] = by_kind.get(kind, 0) + n / 1000
                    print("page load by kind (KB):", ", ".join(f"{k} {v:.1f}" for k, v in sorted(by_kind.items())))
                page.close()
            browser.close()

    med = statistics.median
    print(f"page load: {med(load_kb):.1f} KB ({med(load_kb) / 200:.2f} of the 200 KB goal), "
          f"DOMContentLoaded {med(dcl):.0f} ms, first contentful paint {med(fcp):.0f} ms (medians of {RUNS})")
    print(f"‹ to the full day drawn: {med(drawn):.0f} ms (median; min {min(drawn):.0f}, max {max(drawn):.0f}), "
          f"of which the /api/timeline round trip {med(timeline):.0f} ms (drawn in {med(drawn) / med(timeline):.2f}x "
          f"the round trip: the rest is the browser's, parsing and canvas); the switch downloads {med(switch_kb):.1f} KB "
          f"({(med(load_kb) + med(switch_kb)) / 200:.2f} of the 200 KB goal with the page)")


if __name__ == "__main__":
    main()
