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

MODULES = ("main", "api", "time", "chart", "day", "sheet", "live")


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
