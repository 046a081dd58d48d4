"""Motion in the analysis (issue 8): live = batch with accelerometer samples, the hold
rule, motion-unknown ticks, the additional-HR model against a still body, and motion in
the stored and printed results (``attune analyze --db`` after stored ACC, ``--motion``)."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from conftest import missing

from attune.db import db_connect, db_transaction
from attune.ingest.events import AccSamples, Beat
from attune.ingest.motion_store import acc_read, acc_series_store
from attune.signals.baseline import BaselineConfig
from attune.signals.batch import analysis_run, analysis_to_dict
from attune.signals.events import EpisodeEnded, MotionStatus, State, Tick
from attune.signals.live import LivePipeline
from attune.signals.motion import MotionStream
from attune.signals.pipeline import AnalysisConfig, Analyzer
from attune.signals.simulate import day_simulate, morning_ms
from attune.signals.storage import episodes_read_changed_since, ticks_read_since

QUICK = AnalysisConfig(baseline=BaselineConfig(calibration_ticks=120, bin_full_ticks=60))
RATE = 25.0


def _motion_for(sim, gap: tuple[float, float] = (0.55, 0.6), seed: int = 3) -> AccSamples:
    """25 Hz chest motion for a simulated day: still (gravity + 4 mg noise), walking
    (a 1.9 Hz step bounce of 250 mg) during every simulated exertion, and no samples
    in the ``gap`` fraction of the day (motion unknown there)."""
    t0, t1 = int(sim.epoch_ms[0]) - 20_000, int(sim.epoch_ms[-1]) + 5_000
    t = t0 + np.rint(np.arange(0, (t1 - t0) / 1000, 1 / RATE) * 1000).astype(np.int64)
    rng = np.random.default_rng(seed)
    xyz = np.zeros((t.size, 3)) + rng.normal(0, 4, (t.size, 3))
    xyz[:, 1] -= 1000.0
    for e in sim.exertions():
        m = (t >= e.onset_ms) & (t < e.plateau_end_ms)
        xyz[m, 1] -= 250 * np.sin(2 * np.pi * 1.9 * (t[m] - e.onset_ms) / 1000)
    lo, hi = t0 + gap[0] * (t1 - t0), t0 + gap[1] * (t1 - t0)
    keep = (t < lo) | (t >= hi)
    return AccSamples(t[keep], np.rint(xyz[keep]).astype(np.int16), RATE)


@pytest.fixture(scope="module")
def sim():
    return day_simulate(morning_ms("2026-03-02"), 2.5 * 3600, seed=21, n_activations=5,
                        n_exertions=2, n_gaps=1, artifact_rate=0.01)


@pytest.fixture(scope="module")
def acc(sim):
    return _motion_for(sim)


def _interleaved(sim, acc: AccSamples, lag_ms: int, rng: np.random.Generator):
    """Packets as a strap would deliver them: beats in 1-3 beat notifications, ACC in
    36-sample frames, each frame handed over ``lag_ms`` after its last sample."""
    beats = []
    i = 0
    while i < len(sim):
        k = int(rng.integers(1, 4))
        beats.append((int(sim.epoch_ms[min(i + k, len(sim)) - 1]), "beats", slice(i, i + k)))
        i += k
    frames = [(int(acc.epoch_ms[min(j + 36, len(acc)) - 1]) + lag_ms, "acc", slice(j, j + 36))
              for j in range(0, len(acc), 36)]
    return sorted(beats + frames, key=lambda x: (x[0], x[1]))


@pytest.mark.parametrize("lag_ms", [-40_000, 0, 30_000])
def test_live_with_motion_equals_batch(sim, acc, lag_ms):
    """Frames of motion interleaved with beat packets (motion ahead of the beats by 40 s,
    on time, or 30 s behind) give exactly the batch result."""
    batch = analysis_run(sim.epoch_ms, sim.rr_ms, sim.segment_id, sim.flags, config=QUICK, motion=acc)
    live = Analyzer(QUICK)
    events = []
    for _, kind, sl in _interleaved(sim, acc, lag_ms, np.random.default_rng(lag_ms & 0xFFFF)):
        if kind == "acc":
            events += live.push_motion(AccSamples(acc.epoch_ms[sl], acc.xyz_mg[sl], acc.rate_hz))
        else:
            events += live.push(sim.epoch_ms[sl], sim.rr_ms[sl], sim.segment_id[sl], sim.flags[sl])
    events += live.finish()
    ticks = [e for e in events if isinstance(e, Tick)]
    assert ticks == batch.ticks
    assert [e.episode for e in events if isinstance(e, EpisodeEnded) and e.episode.status == "ended"] == batch.episodes
    known = [t for t in ticks if t.activity_mg is not None]
    unknown = [t for t in ticks if t.activity_mg is None]
    assert len(known) > 0.8 * len(ticks) and len(unknown) > 60  # the motion gap: motion unknown
    assert all(t.posture is None and t.hr_expected_bpm is None and t.cadence_spm is None for t in unknown)
    assert all(t.posture is not None for t in known)
    walking = [t for t in known if t.cadence_spm and 100 < t.cadence_spm < 130]
    assert walking and sum(t.activity_mg > 100 for t in walking) > 0.8 * len(walking)
    assert any(t.posture == "upright" for t in walking)  # the upright reference, learnt from walking


def test_motion_stream_chunking_changes_nothing(acc):
    whole = MotionStream().push(acc.epoch_ms, acc.xyz_mg, acc.rate_hz)
    rng = np.random.default_rng(5)
    stream, parts, i = MotionStream(), [], 0
    while i < len(acc):
        k = int(rng.integers(1, 400))
        parts += stream.push(acc.epoch_ms[i:i + k], acc.xyz_mg[i:i + k], acc.rate_hz)
        i += k
    assert parts == whole and len(whole) > 1000


def test_hold_rule_bounds_the_wait(sim, acc):
    """Motion stops (the stream falls silent): beat ticks wait at most max_motion_lag_s of
    beat time, then go on motion-unknown; the HR-only rules score them."""
    a = Analyzer(QUICK)
    cut = int(sim.epoch_ms[len(sim) // 3])
    a.push_motion(AccSamples(acc.epoch_ms[acc.epoch_ms <= cut], acc.xyz_mg[acc.epoch_ms <= cut], RATE))
    ticks = [e for e in a.push(sim.epoch_ms, sim.rr_ms, sim.segment_id, sim.flags) if isinstance(e, Tick)]
    last = ticks[-1].epoch_ms
    # only the last minute of ticks may still be waiting (plus the cleaner's latency)
    assert last >= int(sim.epoch_ms[-1]) - 60_000 - 40_000
    assert all(t.activity_mg is None for t in ticks if t.epoch_ms > cut)
    assert any(t.activity_mg is not None for t in ticks if t.epoch_ms <= cut)


def test_without_motion_every_episode_says_unknown_and_nothing_else_changes(sim):
    plain = analysis_run(sim.epoch_ms, sim.rr_ms, sim.segment_id, sim.flags, config=QUICK)
    assert plain.episodes and all(e.motion == MotionStatus.UNKNOWN for e in plain.episodes)
    assert all(t.activity_mg is None and t.posture is None for t in plain.ticks)
    doc = analysis_to_dict(plain)
    assert all(row["activity_mg"] is None and row["posture"] is None for row in doc["ticks"])
    assert all(row["motion"] == "unknown" for row in doc["episodes"])


def test_still_body_known_turns_a_heart_rate_exertion_into_an_episode(sim):
    """The simulated 'exertions' raise HR without motion: with a still accelerometer they
    are not exertion (state physical comes from motion), so they are offered (still)."""
    still = _motion_for(day_simulate(morning_ms("2026-03-02"), 2.5 * 3600, seed=21, n_activations=5,
                                     n_exertions=0, n_gaps=1, artifact_rate=0.01), gap=(2.0, 2.0))
    plain = analysis_run(sim.epoch_ms, sim.rr_ms, sim.segment_id, sim.flags, config=QUICK)
    moved = analysis_run(sim.epoch_ms, sim.rr_ms, sim.segment_id, sim.flags, config=QUICK, motion=still)
    ex = sim.exertions()

    def during(result):
        return [e for e in result.episodes for x in ex if e.onset_ms < x.plateau_end_ms and e.end_ms > x.onset_ms]

    assert not during(plain)  # HR alone: read as exertion
    assert during(moved) and {e.motion for e in during(moved)} == {MotionStatus.STILL}
    assert not any(t.state == State.PHYSICAL for t in moved.ticks if t.activity_mg is not None)


def test_live_pipeline_stores_motion_columns(tmp_path, sim, acc):
    conn = db_connect(tmp_path / "a.db")
    live = LivePipeline(conn, QUICK, owns_connection=True)
    n = len(sim)
    for i in range(0, n, 500):
        sl = slice(i, i + 500)
        hi = int(sim.epoch_ms[min(i + 500, n) - 1])
        lo = int(sim.epoch_ms[i]) if i else -1
        m = (acc.epoch_ms > lo) & (acc.epoch_ms <= hi)
        live.push_motion(AccSamples(acc.epoch_ms[m], acc.xyz_mg[m], RATE))
        live.push([Beat(0, int(s), int(t), float(r), None, None, int(f)) for t, r, s, f in
                   zip(sim.epoch_ms[sl], sim.rr_ms[sl], sim.segment_id[sl], sim.flags[sl], strict=True)])
    live.close()
    ticks = ticks_read_since(conn, 0, limit=100_000)
    assert any(t.activity_mg is not None and t.posture for t in ticks)
    assert any(t.activity_mg is None for t in ticks)
    eps = [e for _, e in episodes_read_changed_since(conn, 0)]
    assert eps and {e.motion for e in eps} <= set(MotionStatus) and any(e.motion != "unknown" for e in eps)
    conn.close()


# -- the CLI ---------------------------------------------------------------------------------------
def _attune(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "attune.cli", *args], capture_output=True, text=True, timeout=300)


def _beats_csv(sim, path: Path) -> Path:
    path.write_text("epoch_ms,rr_ms\n" + "".join(f"{t},{r:.1f}\n" for t, r in zip(sim.epoch_ms, sim.rr_ms, strict=True)))
    return path


def test_analyze_db_uses_stored_motion(tmp_path, sim, acc):
    """`attune import` beats, ACC stored (as the ACC importer stores it), `attune analyze
    --db`: ticks and episodes carry motion, in the database and in the JSON."""
    db = tmp_path / "m.db"
    beats = _beats_csv(sim, tmp_path / "beats.csv")
    r = _attune("import", str(beats), "--db", str(db))
    assert r.returncode == 0, r.stderr
    conn = db_connect(db)
    with db_transaction(conn):
        acc_series_store(conn, acc.epoch_ms, acc.xyz_mg, RATE, device_id=None)
    assert len(acc_read(conn)) == len(acc)
    conn.close()
    r = _attune("analyze", "--db", str(db), "--format", "json", "--quiet")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert all({"activity_mg", "posture", "cadence_spm", "hr_expected_bpm"} <= set(t) for t in doc["ticks"])
    assert sum(t["activity_mg"] is not None for t in doc["ticks"]) > 0.8 * len(doc["ticks"])
    assert all(e["motion"] in ("still", "moving", "unknown") for e in doc["episodes"])
    conn = db_connect(db)
    n_known = conn.execute("SELECT count(*) FROM tick WHERE activity_mg IS NOT NULL AND posture IS NOT NULL").fetchone()[0]
    motions = {r[0] for r in conn.execute("SELECT motion FROM episode")}
    conn.close()
    assert n_known > 0.8 * len(doc["ticks"]) and motions and motions != {"unknown"}
    r = _attune("analyze", "--db", str(db), "--format", "csv", "--episodes", "--quiet")
    assert r.returncode == 0 and r.stdout.splitlines()[0].endswith(",motion")


def test_analyze_file_with_motion_csv(tmp_path, sim, acc):
    beats = _beats_csv(sim, tmp_path / "beats.csv")
    m = tmp_path / "acc.csv"
    m.write_text("epoch_ms,x_mg,y_mg,z_mg\n" + "".join(f"{t},{x},{y},{z}\n" for t, (x, y, z) in
                                                        zip(acc.epoch_ms, acc.xyz_mg.tolist(), strict=True)))
    r = _attune("analyze", str(beats), "--motion", str(m), "--format", "json", "--quiet")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert sum(t["activity_mg"] is not None for t in doc["ticks"]) > 0.8 * len(doc["ticks"])
    r = _attune("analyze", str(beats), "--format", "csv", "--quiet")
    head = r.stdout.splitlines()[0].split(",")
    assert head[-7:-3] == ["activity_mg", "posture", "cadence_spm", "hr_expected_bpm"]
    untimed = tmp_path / "untimed.csv"
    untimed.write_text("rr_ms\n" + "".join(f"{r:.1f}\n" for r in sim.rr_ms[:2000]))
    r = _attune("analyze", str(untimed), "--motion", str(m))
    assert r.returncode == 2 and "carries no time" in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("t,x\n1,2\n")
    r = _attune("analyze", str(beats), "--motion", str(bad))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "bad.csv" in r.stderr.replace("\n", "") and "accelerometer" in r.stderr


# -- real chest motion -----------------------------------------------------------------------------
def test_real_chest_motion_chunking_changes_nothing(shared_data: Path):
    folder = shared_data / "hexoskin_chest_acc" / "003"
    if not folder.is_dir():
        missing(f"{folder} not found")
    axes = []
    for a in "XYZ":
        with wave.open(str(folder / f"acceleration_{a}.wav")) as w:
            axes.append(np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float) * 1000 / 256)
    xyz = np.rint(np.stack(axes, 1)).astype(np.int16)
    t = 1_700_000_000_000 + np.rint(np.arange(len(xyz)) * 1000 / 64).astype(np.int64)
    whole = MotionStream().push(t, xyz, 64.0)
    stream, parts = MotionStream(), []
    for i in range(0, len(t), 91):  # an H10 frame at 64 Hz is about this size
        parts += stream.push(t[i:i + 91], xyz[i:i + 91], 64.0)
    assert parts == whole
    moving = [m for m in whole if m.activity_mg > 100]
    assert len(moving) > 100 and stream.upright_ref is not None
    assert {str(m.posture) for m in moving} >= {"upright"}


def _still_motion(t0_ms: int, t1_ms: int, seed: int) -> AccSamples:
    t = t0_ms + np.rint(np.arange(0, (t1_ms - t0_ms) / 1000, 1 / RATE) * 1000).astype(np.int64)
    xyz = np.random.default_rng(seed).normal(0, 4, (t.size, 3))
    xyz[:, 1] -= 1000.0
    return AccSamples(t, np.rint(xyz).astype(np.int16), RATE)


def test_live_motion_memory_is_bounded_when_beats_stop(tmp_path):
    """The strap's beats stop (a dry electrode) while its accelerometer goes on for 3 h:
    the live pipeline keeps at most LIVE_MOTION_LEAD_S of motion ticks (not 2,160), and
    when the beats come back their ticks have motion again."""
    from attune.signals.live import LIVE_MOTION_LEAD_S

    first = day_simulate(morning_ms("2026-03-02"), 1200, seed=4, n_activations=0, n_exertions=0, n_gaps=0)
    later_ms = int(first.epoch_ms[-1]) + 3 * 3600 * 1000
    second = day_simulate(later_ms, 1200, seed=5, n_activations=0, n_exertions=0, n_gaps=0, first_segment_id=9)
    motion = _still_motion(int(first.epoch_ms[0]) - 10_000, int(second.epoch_ms[-1]) + 5_000, seed=6)
    conn = db_connect(tmp_path / "a.db")
    live = LivePipeline(conn, QUICK, owns_connection=True)
    beats = [Beat(0, int(g), int(t), float(r), None, None, int(f)) for s in (first, second)
             for t, r, g, f in zip(s.epoch_ms, s.rr_ms, s.segment_id, s.flags, strict=True)]
    held, ticks, i = [], [], 0
    frame = 250  # 10 s frames; the beats of the same 10 s after each
    for j in range(0, len(motion), frame):
        sl = slice(j, j + frame)
        ticks += [e for e in live.push_motion(AccSamples(motion.epoch_ms[sl], motion.xyz_mg[sl], RATE))
                  if isinstance(e, Tick)]
        k = i
        while k < len(beats) and beats[k].epoch_ms <= motion.epoch_ms[sl][-1]:
            k += 1
        ticks += [e for e in live.push(beats[i:k]) if isinstance(e, Tick)]
        i = k
        held.append(live.analyzer.motion_ticks_held if live.analyzer else 0)
    ticks += [e for e in live.close() if isinstance(e, Tick)]
    conn.close()
    bound = (LIVE_MOTION_LEAD_S + QUICK.motion_model.activity_window_s) / 5 + 2
    assert max(held) <= bound, (max(held), bound)
    after = [t for t in ticks if t.epoch_ms >= int(second.epoch_ms[0]) + 60_000 and t.hr_bpm is not None]
    assert len(after) > 100 and all(t.activity_mg is not None for t in after)


def _live_feed(live: LivePipeline, sim, motion: AccSamples) -> list[Tick]:
    """Motion in 10 s frames, each followed by the beats of the same 10 s."""
    beats = [Beat(0, int(g), int(t), float(r), None, None, int(f))
             for t, r, g, f in zip(sim.epoch_ms, sim.rr_ms, sim.segment_id, sim.flags, strict=True)]
    ticks, i = [], 0
    for j in range(0, len(motion), 250):
        sl = slice(j, j + 250)
        ticks += [e for e in live.push_motion(AccSamples(motion.epoch_ms[sl], motion.xyz_mg[sl], RATE))
                  if isinstance(e, Tick)]
        k = i
        while k < len(beats) and beats[k].epoch_ms <= motion.epoch_ms[sl][-1]:
            k += 1
        ticks += [e for e in live.push(beats[i:k]) if isinstance(e, Tick)]
        i = k
    ticks += [e for e in live.push(beats[i:]) if isinstance(e, Tick)]
    return ticks + [e for e in live.close() if isinstance(e, Tick)]


def test_personal_motion_model_survives_a_restart_and_a_reanalysis(tmp_path, sim, acc):
    """A day with walks teaches the model the wearer's upright direction and their
    activity -> HR curve; it is stored (motion_model), so the next recording (a new
    process: a new LivePipeline on the same file) and a re-analysis of it continue from it:
    posture is known from their first tick although they hold no walk."""
    from attune.signals.batch import analysis_store_span
    from attune.signals.storage import motion_model_read

    db = tmp_path / "m.db"
    conn = db_connect(db)
    _live_feed(LivePipeline(conn, QUICK, owns_connection=True), sim, acc)
    learnt = motion_model_read(conn, 2**62)
    assert learnt is not None and learnt.upright_ref is not None and sum(learnt.n_ticks) > 0
    conn.close()

    later_ms = int(sim.epoch_ms[-1]) + 2 * 3600 * 1000
    quiet = day_simulate(later_ms, 1800, seed=8, n_activations=0, n_exertions=0, n_gaps=0, first_segment_id=50)
    motion = _still_motion(int(quiet.epoch_ms[0]) - 10_000, int(quiet.epoch_ms[-1]) + 5_000, seed=9)
    conn = db_connect(db)  # the next morning: a new pipeline
    live = LivePipeline(conn, QUICK, owns_connection=True)
    ticks = [t for t in _live_feed(live, quiet, motion) if t.activity_mg is not None]
    assert live.analyzer.motion_state().n_ticks == learnt.n_ticks  # still ticks teach nothing
    assert len(ticks) > 200 and all(t.posture == "upright" for t in ticks), {t.posture for t in ticks}
    conn.close()
    # the same half hour re-analysed from the stored beats and motion
    r = _attune("import", str(_beats_csv(quiet, tmp_path / "quiet.csv")), "--db", str(db))
    assert r.returncode == 0, r.stderr
    conn = db_connect(db)
    with db_transaction(conn):
        acc_series_store(conn, motion.epoch_ms, motion.xyz_mg, RATE, device_id=None)
    again = analysis_store_span(conn, int(quiet.epoch_ms[0]), int(quiet.epoch_ms[-1]) + 1, config=QUICK)
    known = [t for t in again.ticks if t.activity_mg is not None]
    assert len(known) > 200 and all(t.posture == "upright" for t in known)
    conn.close()
