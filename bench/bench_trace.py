"""Beat → heart-rate trace on the Breathe panel (issue 10: p99 < 250 ms on the phone).

A strap's Heart Rate Measurement notifications, one a second in real time with the demo's
beats, go through the real recorder (parse, timestamp, store) and the live pipeline into
the app's hub, served by uvicorn on 127.0.0.1. Headless Chromium at 390×844 has the
Breathe panel open; a MutationObserver in the page notes when the trace canvas is redrawn
with each packet's last beat (``data-last``, set as the trace is drawn). Latency = that
moment − the moment the notification was handed to the recorder (one clock: same machine).

Baseline of the same run: a plain HTTP client in another thread reading the same SSE
stream (``event: beats`` received), so the share the browser adds (parse, trace, draw) is a
ratio of this run, not a number from another machine.

Run: python bench/bench_trace.py [PACKETS]   (default 120: two minutes; needs /usr/bin/chromium)
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from playwright.sync_api import expect, sync_playwright

from attune.api import pipeline
from attune.api.runner import recorder_live
from attune.api.sample import live_rr_stream, sample_db
from attune.db import db_connect
from attune.ingest.events import LinkEvent, Notification
from attune.ingest.hrm import hrm_encode
from attune.timeutil import now_ms

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_web_live import ServerThread  # noqa: E402  (the app served live, as the browser tests do)

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
PHONE = {"width": 390, "height": 844}

# each redraw of the trace with a new last beat: [beat Unix ms, page Unix ms]
WATCH = """() => {
  window.__trace = [];
  const canvas = document.getElementById("breathe-trace");
  new MutationObserver(() => {
    const last = Number(canvas.dataset.last || 0), seen = window.__trace;
    if (last && (!seen.length || seen[seen.length - 1][0] !== last)) seen.push([last, Date.now()]);
  }).observe(canvas, { attributes: true, attributeFilter: ["data-last"] });
}"""


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


async def strap_stream(db_path: Path, server: ServerThread, packets: int, sent_ms: list[float]) -> None:
    """One notification a second, in real time, through the recorder and the live pipeline."""
    conn = db_connect(db_path)
    recorder = recorder_live(conn, server.hub, source="demo")
    analysis = pipeline.live_attach(conn, recorder, server.hub)
    queue: asyncio.Queue = asyncio.Queue()
    consumer = asyncio.create_task(recorder.run(queue))
    queue.put_nowait(LinkEvent("connected", {"battery": 90}))
    rr = live_rr_stream(seed=5)
    pending, beat_ms, start = next(rr), 0.0, time.monotonic()
    for k in range(1, packets + 1):
        await asyncio.sleep(max(0.0, start + k - time.monotonic()))
        ticks = []
        while beat_ms + pending <= k * 1000 and len(ticks) < 9:
            beat_ms += pending
            ticks.append(round(pending * 1024 / 1000))
            pending = next(rr)
        hr = round(60 * 1024 * len(ticks) / sum(ticks)) if ticks else 0
        wall_ns = time.time_ns()
        if ticks:  # a packet without RR stores no beat and redraws nothing
            sent_ms.append(wall_ns / 1e6)
        queue.put_nowait(Notification(time.monotonic_ns(), wall_ns, hrm_encode(hr, ticks, contact=True)))
    await asyncio.sleep(1.0)
    queue.put_nowait(None)
    await consumer
    analysis.close()
    conn.close()


def main(packets: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "trace.sqlite"
        sample_db(db_path, hours=8, end_ms=now_ms() - 3_600_000)  # calibrated, as on an ordinary day
        received_ms: list[float] = []

        server = ServerThread(db_path)
        with server as base, sync_playwright() as p:
            def client() -> None:  # the baseline: the same SSE stream, read by a plain client
                with httpx.Client(timeout=None) as c, c.stream("GET", f"{base}/api/live") as r:
                    for line in r.iter_lines():
                        if line == "event: beats":
                            received_ms.append(time.time_ns() / 1e6)

            threading.Thread(target=client, daemon=True).start()
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport=PHONE, device_scale_factor=2)
            page.goto(base + "/")
            page.locator("#breathe-open").click()
            expect(page.locator("#breathe-trace")).to_be_visible()
            page.evaluate(WATCH)
            sent_ms: list[float] = []
            asyncio.run_coroutine_threadsafe(strap_stream(db_path, server, packets, sent_ms), server.loop).result()
            drawn = page.evaluate("() => window.__trace")
            browser.close()

    if len(drawn) != len(sent_ms) or len(received_ms) != len(sent_ms):
        raise SystemExit(f"unpaired: {len(sent_ms)} packets, {len(drawn)} redraws, {len(received_ms)} SSE events")
    trace = [d[1] - s for d, s in zip(drawn, sent_ms, strict=True)]
    sse = [r - s for r, s in zip(received_ms, sent_ms, strict=True)]
    print(f"beat → trace redrawn on the Breathe panel ({len(trace)} packets, real time, Chromium 390×844): "
          f"p50 {statistics.median(trace):.1f} ms, p99 {pct(trace, 99):.1f} ms, max {max(trace):.1f} ms "
          f"(goal p99 < 250 ms: {pct(trace, 99) / 250:.2f} of it)")
    print(f"baseline, the same SSE event read by a plain client: p50 {statistics.median(sse):.1f} ms, "
          f"p99 {pct(sse, 99):.1f} ms -> the page adds {statistics.median(trace) - statistics.median(sse):.1f} ms "
          f"at the median ({statistics.median(trace) / max(statistics.median(sse), 0.1):.2f}x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 120)
