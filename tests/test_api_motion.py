"""Motion on the API (issue 8), over real analysed SQLite databases: the timeline's motion
band (activity and posture per bucket, null where motion is unknown), each episode's
motion, the live words for discounted movement, the export columns, and "I was moving",
the one-tap name that takes an episode out of the regulation statistics until cleared.

Motion is written into the tick/episode columns of migration 0005 here, as the analysis
stores it, so these tests hold whatever the analysis makes of the accelerometer."""

from __future__ import annotations

import sqlite3
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient

from attune.api.app import app_create
from attune.api.sample import sample_day_store, sample_db
from attune.api.wire import wire_payload
from attune.db import db_connect
from attune.ingest.motion_store import acc_read, acc_span
from attune.signals.events import Episode, EpisodeAnnounced, EpisodeStatus, MotionStatus, State, Tick
from attune.signals.motion import motion_ticks
from attune.signals.simulate import acc_simulate, day_simulate
from attune.timeutil import now_ms

BASE = "http://127.0.0.1:8765"
END = datetime(2026, 11, 19, 18, tzinfo=UTC)  # fixed: the tests do not depend on the clock
START = END - timedelta(hours=12)
SPAN = {"from": START.isoformat(), "to": END.isoformat()}
START_MS, END_MS = int(START.timestamp() * 1000), int(END.timestamp() * 1000)
MOVING_MIN_MG = 60.0  # api.analysis.MOVING_MIN_MG


@pytest.fixture(scope="module")
def half_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 h of simulated beats with their accelerometer, stored and analysed by signals/."""
    return sample_db(tmp_path_factory.mktemp("motion") / "attune.sqlite", hours=12, end_ms=END_MS, tz=UTC,
                     motion=True)


@pytest.fixture
def db(half_day: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy.sqlite"
    src, dst = sqlite3.connect(half_day), sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.close()
    return copy


def client_on(path: Path) -> TestClient:
    return TestClient(app_create(path), base_url=BASE)


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def _motion_clear(path: Path) -> None:
    """No motion anywhere (a strap without an accelerometer, or before the analysis has any)."""
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE tick SET activity_mg=NULL, posture=NULL, cadence_spm=NULL, hr_expected_bpm=NULL")
        conn.execute("UPDATE episode SET motion='unknown'")


# -- the timeline's motion band ------------------------------------------------------------------------
def test_timeline_has_motion_only_where_the_ticks_have_it(db: Path) -> None:
    _motion_clear(db)
    with client_on(db) as c:
        tl = c.get("/api/timeline", params={**SPAN, "max_points": 720}).json()
    n = len(tl["score"])
    assert len(tl["activity_mg"]) == len(tl["posture"]) == n
    assert tl["activity_mg"] == [None] * n and tl["posture"] == [None] * n  # unknown: nothing made up
    assert tl["motion_scale"] == {"moving_mg": MOVING_MIN_MG}

    # motion for two hours: a walk (moving, upright), then sitting still, then reclined
    a_ms, b_ms = START_MS + 3 * 3600_000, START_MS + 5 * 3600_000
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE tick SET activity_mg = CASE WHEN epoch_ms < ? THEN 180.0 + (epoch_ms / 5000) % 7"
                     " ELSE 6.0 END, posture = CASE WHEN epoch_ms < ? THEN 'upright' ELSE 'reclined' END,"
                     " cadence_spm = CASE WHEN epoch_ms < ? THEN 104.0 ELSE 0 END"
                     " WHERE epoch_ms >= ? AND epoch_ms < ?",
                     (a_ms + 1800_000, a_ms + 5400_000, a_ms + 1800_000, a_ms, b_ms))
        conn.execute("UPDATE tick SET posture='unknown' WHERE epoch_ms >= ? AND epoch_ms < ?",
                     (a_ms + 600_000, a_ms + 660_000))  # motion known, posture not classified
    with client_on(db) as c:
        r = c.get("/api/timeline", params={**SPAN, "max_points": 720})
    assert r.status_code == 200 and len(r.content) < 200_000
    tl = r.json()
    first, step = _ms(tl["first_at"]), int(tl["bucket_s"] * 1000)
    conn = sqlite3.connect(db)
    known = 0
    for i, (act, pos) in enumerate(zip(tl["activity_mg"], tl["posture"], strict=True)):
        lo, hi = first + i * step, first + (i + 1) * step
        rows = conn.execute("SELECT activity_mg, posture FROM tick WHERE epoch_ms >= ? AND epoch_ms < ?"
                            " AND activity_mg IS NOT NULL", (lo, hi)).fetchall()
        if hi <= a_ms or lo >= b_ms:
            assert act is None and pos is None, i
            continue
        assert rows, i
        known += 1
        assert act == pytest.approx(statistics.fmean(r[0] for r in rows), abs=0.06)
        postures = Counter(r[1] for r in rows if r[1] != "unknown")
        assert pos == (postures.most_common(1)[0][0] if postures else None)
    conn.close()
    assert known >= 119  # two hours of one-minute buckets
    moving = [i for i, v in enumerate(tl["activity_mg"]) if v is not None and v >= MOVING_MIN_MG]
    assert len(moving) == pytest.approx(30, abs=1)  # the half-hour walk, nothing else
    assert {p for p in tl["posture"] if p} == {"upright", "reclined"}


def test_episodes_say_whether_motion_was_known(db: Path) -> None:
    with client_on(db) as c:
        found = c.get("/api/episodes", params=SPAN).json()["episodes"]
    assert len(found) >= 3
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE episode SET motion='unknown'")
        conn.execute("UPDATE episode SET motion='moving' WHERE id=?", (found[0]["id"],))
        conn.execute("UPDATE episode SET motion='still' WHERE id=?", (found[1]["id"],))
    with client_on(db) as c:
        by_id = {e["id"]: e["motion"] for e in c.get("/api/episodes", params=SPAN).json()["episodes"]}
        timeline = {e["id"]: e["motion"] for e in c.get("/api/timeline", params=SPAN).json()["episodes"]}
    assert by_id == timeline
    assert by_id[found[0]["id"]] == "moving" and by_id[found[1]["id"]] == "still"
    assert {v for k, v in by_id.items() if k not in (found[0]["id"], found[1]["id"])} == {"unknown"}


def test_export_carries_tick_and_episode_motion(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        t = conn.execute("SELECT min(epoch_ms) FROM tick WHERE epoch_ms >= ?", (START_MS + 3600_000,)).fetchone()[0]
        conn.execute("UPDATE tick SET activity_mg=210.5, posture='upright', cadence_spm=108, hr_expected_bpm=92"
                     " WHERE epoch_ms=?", (t,))
        eid = conn.execute("SELECT id FROM episode WHERE status != 'discarded' ORDER BY onset_ms").fetchone()[0]
        conn.execute("UPDATE episode SET motion='still' WHERE id=?", (eid,))
    with client_on(db) as c:
        data = c.get("/api/export", params={**SPAN, "format": "json"}).json()
    ticks = data["ticks"]
    row = next(r for r in ticks if r["epoch_ms"] == t)
    assert (row["activity_mg"], row["posture"], row["cadence_spm"], row["hr_expected_bpm"]) == (210.5, "upright", 108, 92)
    assert all("activity_mg" in r and "posture" in r for r in ticks)
    assert next(e for e in data["episodes"] if e["id"] == eid)["motion"] == "still"


# -- the live card's words ------------------------------------------------------------------------------
@pytest.mark.parametrize(("activity_mg", "cadence_spm", "words"), [
    (190.0, 106.0, "walking — not counted"),
    (420.0, 162.0, "running — not counted"),
    (120.0, 0.0, "moving — not counted"),
    (None, None, "exercise — not counted"),  # heart rate only: as before
])
def test_status_says_what_movement_is_not_counted(db: Path, activity_mg, cadence_spm, words) -> None:
    t = now_ms() // 5000 * 5000
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO tick(epoch_ms, state, hr_bpm, coverage, artifact_fraction, score, calibration,"
                     " activity_mg, cadence_spm) VALUES (?, 'physical', 120, 1, 0, 2.0, 1, ?, ?)",
                     (t, activity_mg, cadence_spm))
    with client_on(db) as c:
        s = c.get("/api/status").json()
    assert s["state"] == "physical" and s["state_words"] == words


def test_live_events_carry_motion() -> None:
    tick = Tick(1_700_000_000_000, State.PHYSICAL, 118.0, 120.0, 20.0, 3.0, 25.0, 1.0, 0.0, 2.2, 3.0, 1.0, 1.0,
                activity_mg=201.26, posture="upright", cadence_spm=104.4, hr_expected_bpm=110.0)
    kind, data = wire_payload(tick)
    assert kind == "tick"
    assert (data["activity_mg"], data["posture"], data["cadence_spm"]) == (201.3, "upright", 104.4)
    assert data["state_words"] == "walking — not counted"
    unknown = Tick(1_700_000_000_000, State.PHYSICAL, 118.0, 120.0, 20.0, 3.0, 25.0, 1.0, 0.0, 2.2, 3.0, 1.0, 1.0)
    _, data = wire_payload(unknown)
    assert (data["activity_mg"], data["posture"], data["state_words"]) == (None, None, "exercise — not counted")
    _, data = wire_payload(Tick(1_700_000_000_000, State.SETTLED, 70.0, 70.0, 40.0, 3.7, 45.0, 1.0, 0.0, 0.1,
                                0.0, 0.0, 1.0, activity_mg=8.0, posture="unknown", cadence_spm=0.0))
    assert data["posture"] is None and data["state_words"] == "settled"
    # settled while walking: the walk's heart rate is discounted, and the card says so
    _, data = wire_payload(Tick(1_700_000_000_000, State.SETTLED, 92.0, 92.0, 30.0, 3.4, 35.0, 1.0, 0.0, 0.3,
                                0.0, 0.0, 1.0, activity_mg=180.0, posture="upright", cadence_spm=108.0))
    assert data["state_words"] == "walking — not counted"
    # activated while walking (a hard call on the way): the person's state is never hidden
    _, data = wire_payload(Tick(1_700_000_000_000, State.ACTIVATED, 110.0, 112.0, 20.0, 3.0, 25.0, 1.0, 0.0, 2.0,
                                2.0, 1.0, 1.0, activity_mg=180.0, posture="upright", cadence_spm=108.0))
    assert data["state_words"] == "activated"
    ep = Episode(1_700_000_000_000, 1_700_000_060_000, None, 1_700_000_030_000, 2.5, 12.0, -0.4, None, 0.9, False,
                 EpisodeStatus.OPEN, id=7, motion=MotionStatus.STILL)
    kind, data = wire_payload(EpisodeAnnounced(1_700_000_030_000, ep))
    assert kind == "episode" and data["motion"] == "still" and data["id"] == 7


# -- "I was moving" -------------------------------------------------------------------------------------
def _activated_ticks(path: Path, a_ms: int, b_ms: int) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM tick WHERE epoch_ms >= ? AND epoch_ms < ?"
                            " AND state IN ('activated', 'high')", (a_ms, b_ms)).fetchone()[0]


def test_i_was_moving_takes_an_episode_out_of_the_statistics_until_cleared(db: Path) -> None:
    with client_on(db) as c:
        before = c.get("/api/summary", params={**SPAN, "tz": "UTC"}).json()
        episodes = c.get("/api/episodes", params=SPAN).json()["episodes"]
        assert before["episodes"] == len(episodes) >= 3 and before["set_aside"] == 0
        # the episode with most activated time, so the minutes must change
        spans = {e["id"]: (_ms(e["start"]), _ms(e["start"]) + int(e["duration_s"] * 1000)) for e in episodes}
        target = max(episodes, key=lambda e: _activated_ticks(db, *spans[e["id"]]))
        k = _activated_ticks(db, *spans[target["id"]])
        assert k > 0
        other = next(e for e in episodes if e["id"] != target["id"])
        assert c.put(f"/api/episodes/{other['id']}/tag", json={"label": "waiting"}).status_code == 200

        r = c.put(f"/api/episodes/{target['id']}/tag", json={"label": "I was moving"})  # the one tap
        assert r.status_code == 200, r.text
        assert r.json()["tag"]["label"] == "i was moving" and r.json()["set_aside"] is True
        labels = {x["name"]: x for x in c.get("/api/labels").json()["labels"]}
        assert labels["i was moving"]["builtin"] is True
        assert c.put(f"/api/labels/{labels['i was moving']['id']}", json={"name": "walk"}).status_code == 409
        assert c.delete(f"/api/labels/{labels['i was moving']['id']}").status_code == 409

    with client_on(db) as c:  # a new server on the same file: it survives
        after = c.get("/api/summary", params={**SPAN, "tz": "UTC"}).json()
        listed = {e["id"]: e for e in c.get("/api/episodes", params=SPAN).json()["episodes"]}
    assert listed[target["id"]]["set_aside"] is True and listed[other["id"]]["set_aside"] is False
    assert after["episodes"] == before["episodes"] - 1 and after["set_aside"] == 1
    assert after["activated_s"] == before["activated_s"] - 5 * k
    counts = {x["label"]: x["count"] for x in after["by_label"]}
    assert "i was moving" not in counts and counts["waiting"] == 1
    assert sum(counts.values()) == after["episodes"]
    assert sum(p["count"] for p in after["time_of_day"]) == after["episodes"]
    rest = [e["recovery_s"] for e in listed.values() if not e["set_aside"] and e["recovery_s"] is not None]
    assert after["median_recovery_s"] == round(statistics.median(rest), 1)

    with client_on(db) as c:  # undone like any name: cleared, it counts again
        assert c.delete(f"/api/episodes/{target['id']}/tag").status_code == 204
        again = c.get("/api/summary", params={**SPAN, "tz": "UTC"}).json()
    assert again["episodes"] == before["episodes"] and again["set_aside"] == 0
    assert again["activated_s"] == before["activated_s"]


def test_a_moment_marked_i_was_moving_is_not_counted_and_own_labels_merge(db: Path) -> None:
    with client_on(db) as c:
        before = c.get("/api/summary", params=SPAN).json()
        m = c.post("/api/moments", json={"start": (START + timedelta(hours=1)).isoformat(),
                                         "end": (START + timedelta(hours=1, minutes=5)).isoformat(),
                                         "label": "errand"})
        assert m.status_code == 201
        own = next(x for x in c.get("/api/labels").json()["labels"] if x["name"] == "errand")
        renamed = c.put(f"/api/labels/{own['id']}", json={"name": "I was moving"})  # merged into the built-in
        assert renamed.status_code == 200 and renamed.json()["name"] == "i was moving" and renamed.json()["builtin"]
        after = c.get("/api/summary", params=SPAN).json()
    assert {x["label"] for x in after["by_label"]} == {x["label"] for x in before["by_label"]}
    assert after["episodes"] == before["episodes"]


# -- the demo's history moves -----------------------------------------------------------------------------
def test_simulated_accelerometer_moves_during_walks_and_exercise_only() -> None:
    start_ms = int(datetime(2026, 11, 18, 7, tzinfo=UTC).timestamp() * 1000)
    sim = day_simulate(start_ms, 16 * 3600, seed=2, tz=UTC, n_walks=3)
    t, xyz = acc_simulate(sim, start_ms, 16 * 3600, seed=2, tz=UTC)
    m = motion_ticks(t, xyz)  # the analysis' own motion features
    assert len(sim.walks()) == 3 and len(sim.exertions()) == 2 and len(sim.activations()) >= 6

    def during(e, what):
        inside = (m.epoch_ms >= e.onset_ms + 10_000) & (m.epoch_ms < e.plateau_end_ms - 10_000)
        return float(np.nanmedian(getattr(m, what)[inside]))

    for e in sim.walks():
        assert during(e, "activity_mg") >= 1.5 * MOVING_MIN_MG and 95 <= during(e, "cadence_spm") <= 120, e
    for e in sim.exertions():  # a brisk walk or a run, as hard as the heart-rate rise
        assert during(e, "activity_mg") >= 300 and 105 <= during(e, "cadence_spm") <= 175, e
    for e in sim.activations():  # feeling, sitting still
        assert during(e, "activity_mg") < MOVING_MIN_MG / 3 and during(e, "cadence_spm") == 0, e
    postures = Counter(str(p) for p in m.posture)
    assert postures["upright"] > 0.9 * len(m.posture) and postures["reclined"] >= 30 * 12  # an evening on the sofa
    gap = next(e for e in sim.events if e.kind == "gap")
    assert not ((t >= gap.onset_ms) & (t < gap.end_ms)).any()  # strap off: no motion either


def test_demo_history_stores_the_accelerometer(tmp_path: Path) -> None:
    conn = db_connect(tmp_path / "demo.sqlite")
    try:
        now = now_ms()
        sample_day_store(conn, now_ms=now)
        first, last = acc_span(conn)
        beats = conn.execute("SELECT min(epoch_ms), max(epoch_ms) FROM beat").fetchone()
        assert abs(first - beats[0]) < 5_000 and abs(last - beats[1]) < 5_000
        acc = acc_read(conn)
        assert acc.rate_hz == 12.5 and len(acc) > 16 * 3600 * 12.5 * 0.9
        assert np.median(np.linalg.norm(acc.xyz_mg.astype(float), axis=1)) == pytest.approx(1000, abs=30)
    finally:
        conn.close()
