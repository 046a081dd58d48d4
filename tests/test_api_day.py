"""Timeline, episodes, summary and export over a real, analysed database."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from attune.api.app import app_create
from attune.api.sample import sample_db
from attune.db import db_connect
from attune.signals.batch import analysis_store_span
from attune.signals.pipeline import AnalysisConfig
from attune.signals.states import StateConfig

BASE = "http://127.0.0.1:8765"
# a fixed day in the past, so the tests do not depend on the clock
DAY_START = datetime(2026, 11, 19, tzinfo=UTC)
DAY_END = DAY_START + timedelta(days=1)
DAY = {"from": DAY_START.isoformat(), "to": DAY_END.isoformat()}


@pytest.fixture(scope="module")
def day_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated full day (about 100k beats) stored and analysed by signals/."""
    return sample_db(tmp_path_factory.mktemp("day") / "attune.sqlite", hours=24,
                     end_ms=int(DAY_END.timestamp() * 1000), tz=UTC)


@pytest.fixture
def client(day_db: Path, tmp_path: Path):
    # each test gets its own copy: tagging in one test must not leak into another
    copy = tmp_path / "copy.sqlite"
    src = sqlite3.connect(day_db)
    dst = sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.close()
    with TestClient(app_create(copy), base_url=BASE) as c:
        c.db_path = copy  # type: ignore[attr-defined]
        yield c


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def test_full_day_timeline_is_small_and_true_to_the_ticks(client: TestClient) -> None:
    r = client.get("/api/timeline", params={**DAY, "max_points": 720})
    assert r.status_code == 200, r.text
    assert len(r.content) < 200_000
    tl = r.json()
    n = len(tl["score"])
    assert n == len(tl["hr_bpm"]) == len(tl["ln_rmssd"]) <= 720
    assert tl["bucket_s"] * n >= 24 * 3600
    assert sum(v is not None for v in tl["score"]) > 0.9 * n  # the whole day was recorded

    # recompute a few buckets straight from the stored ticks
    conn = sqlite3.connect(client.db_path)  # type: ignore[attr-defined]
    first = _ms(tl["first_at"])
    step = int(tl["bucket_s"] * 1000)
    for i in (0, n // 3, n // 2, n - 2):
        rows = [r[0] for r in conn.execute(
            "SELECT hr_bpm FROM tick WHERE epoch_ms >= ? AND epoch_ms < ? AND hr_bpm IS NOT NULL",
            (first + i * step, first + (i + 1) * step))]
        if rows:
            assert tl["hr_bpm"][i] == pytest.approx(statistics.fmean(rows), abs=0.01)
        else:
            assert tl["hr_bpm"][i] is None
    conn.close()

    # states: in order, inside the day, not overlapping
    spans = [(_ms(s["start"]), _ms(s["end"])) for s in tl["states"]]
    assert spans and all(a < b for a, b in spans)
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(spans, spans[1:], strict=False))
    assert spans[0][0] >= _ms(DAY["from"]) and spans[-1][1] <= _ms(DAY["to"])
    assert tl["episodes"], "the simulated day has activation episodes"


def test_fewer_points_when_asked(client: TestClient) -> None:
    tl = client.get("/api/timeline", params={**DAY, "max_points": 48}).json()
    assert len(tl["score"]) == 48 and tl["bucket_s"] == 1800


@pytest.mark.parametrize(("params", "words"), [
    ({"from": "2026-11-19T00:00:00", "to": "2026-11-20T00:00:00Z"}, "zone"),
    ({"from": "2026-11-20T00:00:00Z", "to": "2026-11-19T00:00:00Z"}, "after"),
    ({"from": "2026-01-01T00:00:00Z", "to": "2026-11-19T00:00:00Z"}, "at most"),
    ({"from": "yesterday"}, "datetime"),
    ({**DAY, "max_points": 3}, "max_points"),
])
def test_bad_timeline_requests_get_a_clear_422(client: TestClient, params: dict, words: str) -> None:
    r = client.get("/api/timeline", params=params)
    assert r.status_code == 422
    assert words in r.json()["detail"].lower()


def test_naming_an_episode_shows_everywhere(client: TestClient) -> None:
    episodes = client.get("/api/episodes", params=DAY).json()["episodes"]
    nameable = [e for e in episodes if e["needs_name"]]
    assert nameable
    target = nameable[0]
    r = client.put(f"/api/episodes/{target['id']}/tag", json={"label": "Bracing", "note": "his car in the drive"})
    assert r.status_code == 200, r.text
    assert r.json()["tag"]["label"] == "bracing" and r.json()["needs_name"] is False

    again = {e["id"]: e for e in client.get("/api/episodes", params=DAY).json()["episodes"]}
    assert again[target["id"]]["tag"]["note"] == "his car in the drive"
    tl = client.get("/api/timeline", params=DAY).json()
    assert {e["id"]: e["tag"] for e in tl["episodes"]}[target["id"]]["label"] == "bracing"

    summary = client.get("/api/summary", params={**DAY, "tz": "Europe/Berlin"}).json()
    counts = {row["label"]: row["count"] for row in summary["by_label"]}
    assert counts["bracing"] == 1
    assert counts.get("not named yet", 0) == len(nameable) - 1
    assert sum(p["count"] for p in summary["time_of_day"]) == summary["episodes"]

    # rename, then clear
    r = client.put(f"/api/episodes/{target['id']}/tag", json={"label": "waiting"})
    assert r.json()["tag"] == {**r.json()["tag"], "label": "waiting", "note": None}
    assert client.delete(f"/api/episodes/{target['id']}/tag").status_code == 204
    assert client.delete(f"/api/episodes/{target['id']}/tag").status_code == 404
    cleared = {e["id"]: e for e in client.get("/api/episodes", params=DAY).json()["episodes"]}
    assert cleared[target["id"]]["tag"] is None and cleared[target["id"]]["needs_name"]


def test_summary_median_recovery_matches_the_episodes(client: TestClient) -> None:
    episodes = client.get("/api/episodes", params=DAY).json()["episodes"]
    summary = client.get("/api/summary", params=DAY).json()
    recoveries = [e["recovery_s"] for e in episodes if e["recovery_s"] is not None]
    if recoveries:
        assert summary["median_recovery_s"] == pytest.approx(statistics.median(recoveries), abs=0.1)
    assert client.get("/api/summary", params={**DAY, "tz": "Mars/Olympus"}).status_code == 422


@pytest.mark.parametrize("how", ["renumbered", "retuned"])
def test_names_survive_reanalysis(client: TestClient, how: str) -> None:
    """`attune analyze` replaces a span's results; names must stay on the same moments."""
    episodes = client.get("/api/episodes", params=DAY).json()["episodes"]
    assert len(episodes) >= 3
    named = {}
    for e, label in zip(episodes[::2], ["waiting", "bracing", "my own word", "waiting"], strict=False):
        r = client.put(f"/api/episodes/{e['id']}/tag", json={"label": label, "note": f"at {e['start']}"})
        assert r.status_code == 200
        named[e["start"]] = (label, f"at {e['start']}", _ms(e["start"]), _ms(e["end"]))

    conn = db_connect(client.db_path)  # type: ignore[attr-defined]
    if how == "renumbered":  # no episode keeps its id: nothing can be matched by id
        conn.execute("UPDATE episode SET id = id + 100000")
        config = AnalysisConfig()
    else:  # other thresholds: episodes start and end at other ticks
        config = AnalysisConfig(states=StateConfig(activate_score=1.3, settle_score=0.3))
    analysis_store_span(conn, _ms(DAY["from"]), _ms(DAY["to"]), config=config, tz=UTC)
    conn.close()

    after = client.get("/api/episodes", params=DAY).json()
    old_ids = {e["id"] for e in episodes}
    if how == "renumbered":
        assert not old_ids & {e["id"] for e in after["episodes"]}
    for label, note, a, b in named.values():
        # the episode now covering the named moment carries its name and note
        covering = [e for e in after["episodes"] if _ms(e["start"]) < b and _ms(e["end"] or e["start"]) > a]
        assert covering, "re-analysis lost the episode"
        best = max(covering, key=lambda e: min(b, _ms(e["end"])) - max(a, _ms(e["start"])))
        assert best["tag"] is not None and (best["tag"]["label"], best["tag"]["note"]) == (label, note)
    # nothing named was lost: every tag is on an episode or listed as a moment
    tagged = sum(e["tag"] is not None for e in after["episodes"]) + len(after["moments"])
    assert tagged >= len(named)


def test_export_formats_hold_the_same_beats(client: TestClient) -> None:
    span = {"from": (DAY_START + timedelta(hours=10)).isoformat(), "to": (DAY_START + timedelta(hours=11)).isoformat()}
    conn = sqlite3.connect(client.db_path)  # type: ignore[attr-defined]
    n = conn.execute("SELECT count(*) FROM beat WHERE epoch_ms >= ? AND epoch_ms < ?",
                     (_ms(span["from"]), _ms(span["to"]))).fetchone()[0]
    conn.close()
    assert n > 3000

    rr = client.get("/api/export", params={**span, "format": "rr"})
    assert rr.status_code == 200 and len(rr.text.splitlines()) == n
    rows = list(csv.DictReader(io.StringIO(client.get("/api/export", params={**span, "format": "csv"}).text)))
    assert len(rows) == n
    assert [float(r["rr_ms"]) for r in rows[:50]] == [float(v) for v in rr.text.splitlines()[:50]]
    assert datetime.fromisoformat(rows[0]["at"]).tzinfo is not None

    everything = json.loads(client.get("/api/export", params={**span, "format": "json"}).text)
    assert set(everything) == {"from", "to", "beats", "ticks", "episodes", "tags", "sessions"}
    assert len(everything["beats"]) == n and everything["ticks"]
    ticks_csv = client.get("/api/export", params={**span, "format": "csv", "table": "ticks"})
    assert len(ticks_csv.text.splitlines()) == len(everything["ticks"]) + 1
    assert "attachment" in rr.headers["content-disposition"]
    assert client.get("/api/export", params={"format": "xml"}).status_code == 422


def test_episode_quantities_keep_their_database_names(client: TestClient) -> None:
    """One name per quantity: the episode table's delta_hr_bpm and delta_ln_rmssd reach the
    timeline, the episode list and both export formats under the same names and sign."""
    conn = sqlite3.connect(client.db_path)  # type: ignore[attr-defined]
    stored = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT id, delta_hr_bpm, delta_ln_rmssd FROM episode")}
    conn.close()
    listed = client.get("/api/episodes", params=DAY).json()["episodes"]
    timeline = client.get("/api/timeline", params=DAY).json()["episodes"]
    exported = json.loads(client.get("/api/export", params={**DAY, "format": "json"}).text)["episodes"]
    rows = list(csv.DictReader(io.StringIO(client.get("/api/export", params={**DAY, "format": "csv", "table": "episodes"}).text)))
    assert listed and len(listed) == len(timeline) == len(exported) == len(rows)
    for e in [*listed, *timeline, *exported, *({**r, "id": int(r["id"])} for r in rows)]:
        hr, ln = stored[e["id"]]
        assert float(e["delta_hr_bpm"]) == pytest.approx(hr, abs=0.05)
        assert float(e["delta_ln_rmssd"]) == pytest.approx(ln, abs=0.0005)
        assert float(e["delta_ln_rmssd"]) <= 0
