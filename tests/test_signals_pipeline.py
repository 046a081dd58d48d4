"""One pipeline, two speeds: streaming beat by beat equals batch; live storage equals a
re-analysis of the stored beats; re-analysis keeps episode ids; import + analyze; CLI."""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
from datetime import UTC

import numpy as np
import pytest

from attune.db import DatabaseMissing, db_connect
from attune.ingest.events import Notification
from attune.ingest.hrm import hrm_encode
from attune.ingest.recorder import Recorder
from attune.signals.artifacts import ArtifactConfig, BeatCleaner
from attune.signals.baseline import BaselineConfig
from attune.signals.batch import (
    analysis_import_hook,
    analysis_run,
    analysis_store_span,
    analysis_ticks_csv,
    analysis_to_dict,
)
from attune.signals.cli import add_analyze_parser
from attune.signals.events import EpisodeAnnounced, EpisodeEnded, State, StateChanged, Tick
from attune.signals.features import FeatureStream
from attune.signals.live import LivePipeline
from attune.signals.pipeline import AnalysisConfig, Analyzer
from attune.signals.simulate import day_simulate, morning_ms

# calibrate within minutes so a short stream shows every state
QUICK = AnalysisConfig(baseline=BaselineConfig(calibration_ticks=120, bin_full_ticks=60))


@pytest.fixture(scope="module")
def sim():
    return day_simulate(morning_ms("2026-03-02"), 2.5 * 3600, seed=21, n_activations=5,
                        n_exertions=1, n_gaps=1, artifact_rate=0.01)


def test_streaming_equals_batch_and_latency_bound_holds(sim):
    batch = Analyzer(QUICK)
    whole = batch.push(sim.epoch_ms, sim.rr_ms, sim.segment_id, sim.flags) + batch.finish()

    live = Analyzer(QUICK)
    streamed, emitted_at = [], []
    n = len(sim)
    for i in range(n):  # beat by beat (other chunkings: test_signals_artifacts, hypothesis)
        out = live.push(sim.epoch_ms[i : i + 1], sim.rr_ms[i : i + 1], sim.segment_id[i : i + 1], sim.flags[i : i + 1])
        streamed += out
        emitted_at += [int(sim.epoch_ms[i])] * len(out)
    tail = live.finish()
    streamed += tail
    emitted_at += [None] * len(tail)

    assert streamed == whole  # every tick, state change, episode and baseline event, bit for bit
    kinds = {type(e).__name__ for e in whole}
    states = {e.state for e in whole if isinstance(e, Tick)}
    assert {"Tick", "StateChanged", "EpisodeAnnounced", "EpisodeEnded", "BaselineUpdated"} <= kinds
    assert {State.ACTIVATED, State.PHYSICAL, "unknown", "calibrating"} <= states

    # a tick is final once the first beat after it has been cleaned, i.e. latency_beats
    # after that beat (+1 per merged extra beat nearby): the bound the detection test
    # uses for announcement latency
    bound = ArtifactConfig().latency_beats + 4
    worst = 0
    for e, at in zip(streamed, emitted_at, strict=True):
        if isinstance(e, Tick) and at is not None:
            idx = int(np.searchsorted(sim.epoch_ms, e.epoch_ms, side="right")) - 1
            limit = sim.epoch_ms[min(idx + bound, n - 1)]
            assert at <= limit, (e.epoch_ms, at, limit)
            worst = max(worst, at - e.epoch_ms)
    print(f"streaming == batch over {n} beats; worst tick publication delay {worst / 1000:.1f} s")


def test_shared_features_and_calibration_pass_change_nothing(sim):
    """What analysis_self_calibrated relies on: ticks cleaned once and given to
    push_features give the events of push; a ticks=False pass gives the same events but
    Tick/StateChanged, and ends with the same baseline."""
    whole = Analyzer(QUICK)
    events = whole.push(sim.epoch_ms, sim.rr_ms, sim.segment_id, sim.flags) + whole.finish()
    cleaner, stream = BeatCleaner(QUICK.artifacts), FeatureStream(QUICK.features)
    shared = [stream.push(cleaner.push(sim.epoch_ms[i : i + 5000], sim.rr_ms[i : i + 5000],
                                       sim.segment_id[i : i + 5000], sim.flags[i : i + 5000]))
              for i in range(0, len(sim), 5000)] + [stream.push(cleaner.finish())]
    fed, quiet = Analyzer(QUICK), Analyzer(QUICK, ticks=False)
    assert [e for f in shared for e in fed.push_features(f)] + fed.finish() == events
    learned = [e for f in shared for e in quiet.push_features(f)] + quiet.finish()
    assert learned == [e for e in events if not isinstance(e, Tick | StateChanged)]
    assert quiet.baseline.estimates() == whole.baseline.estimates()
    assert quiet.baseline.copy()._days.keys() == whole.baseline.copy()._days.keys()
    assert all(np.array_equal(quiet.baseline._days[d], whole.baseline._days[d]) for d in whole.baseline._days)


def _record(conn, sim, live: LivePipeline) -> Recorder:
    rec = Recorder(conn)
    rec.add_listener(live.push)
    start_ns = int(sim.epoch_ms[0]) * 1_000_000
    for t_ms, rr in zip(sim.epoch_ms.tolist(), sim.rr_ms.tolist(), strict=True):
        ticks = round(rr * 1024 / 1000)
        arrival_ns = t_ms * 1_000_000 + 40_000_000
        rec.handle(Notification(arrival_ns - start_ns, arrival_ns, hrm_encode(int(60000 / rr), [ticks], contact=True)))
    rec.commit()
    return rec


def _ticks(conn) -> list[tuple]:
    return [tuple(r) for r in conn.execute("SELECT * FROM tick ORDER BY epoch_ms")]


def test_live_storage_equals_reanalysis(tmp_path):
    sim = day_simulate(morning_ms("2026-03-02"), 1.5 * 3600, seed=22, n_activations=3,
                       n_exertions=0, n_gaps=0, artifact_rate=0.005)
    conn = db_connect(tmp_path / "a.sqlite")
    live = LivePipeline(conn, QUICK, tz=UTC)
    seen = []
    live.add_listener(seen.extend)
    _record(conn, sim, live)
    live.close()
    if conn.in_transaction:
        conn.execute("COMMIT")
    live_ticks = _ticks(conn)
    live_eps = [dict(r) for r in conn.execute("SELECT * FROM episode ORDER BY onset_ms")]
    changes = conn.execute("SELECT count(*) FROM state_change").fetchone()[0]
    assert len(live_ticks) > 900 and live_eps and changes > 3
    announced = [e for e in seen if isinstance(e, EpisodeAnnounced)]
    assert announced and all(e.episode.id is not None for e in announced)

    result = analysis_store_span(conn, config=QUICK, tz=UTC)
    assert _ticks(conn) == live_ticks  # including which ticks fed the baseline
    again = [dict(r) for r in conn.execute("SELECT * FROM episode ORDER BY onset_ms")]
    def strip(rows):
        return [{k: v for k, v in r.items() if k not in ("source", "updated_ms")} for r in rows]

    assert strip(again) == strip(live_eps)  # same ids, same values
    assert [e.id for e in result.episodes] == [r["id"] for r in live_eps]
    conn.close()


def test_reanalysis_replaces_span_and_keeps_overlapping_ids(tmp_path):
    sim = day_simulate(morning_ms("2026-03-02"), 3 * 3600, seed=23, n_activations=4, n_exertions=0,
                       n_gaps=0, artifact_rate=0.003)
    conn = db_connect(tmp_path / "b.sqlite")
    conn.execute("INSERT INTO segment(id, source, reason, started_epoch_ms) VALUES (1, 'import', 'import', ?)",
                 (int(sim.epoch_ms[0]),))
    conn.executemany("INSERT INTO beat(segment_id, epoch_ms, rr_ms, flags) VALUES (1, ?, ?, 0)",
                     zip(sim.epoch_ms.tolist(), sim.rr_ms.tolist(), strict=True))
    first = analysis_store_span(conn, config=QUICK, tz=UTC)
    ids = {e.onset_ms: e.id for e in first.episodes}
    assert len(ids) >= 3
    n_ticks = conn.execute("SELECT count(*) FROM tick").fetchone()[0]
    # a stricter re-analysis of the middle hour: ticks replaced, not duplicated; episodes
    # that still overlap keep their ids; the rest are untouched
    mid = (int(sim.epoch_ms[0]) + 3_600_000, int(sim.epoch_ms[0]) + 7_200_000)
    stricter = dataclasses.replace(QUICK, states=dataclasses.replace(QUICK.states, rise_score=2.5))
    second = analysis_store_span(conn, *mid, config=stricter, tz=UTC)
    assert conn.execute("SELECT count(*) FROM tick").fetchone()[0] == n_ticks
    for e in second.episodes:
        overlapping = [i for o, i in ids.items() if abs(o - e.onset_ms) < 120_000]
        if overlapping:
            assert e.id == overlapping[0]
    outside = [i for o, i in ids.items() if not (mid[0] - 600_000 <= o <= mid[1])]
    stored = {r[0] for r in conn.execute("SELECT id FROM episode")}
    assert set(outside) <= stored
    assert conn.execute("SELECT count(*) FROM analysis_run").fetchone()[0] == 2
    conn.close()


def test_import_then_analyse_gives_an_analysed_day(shared_data, tmp_path):
    from attune.ingest.exchange import rr_import

    conn = db_connect(tmp_path / "c.sqlite")
    imported = rr_import(conn, shared_data / "selfloops_daily/selfloops_20170804001r_rr.csv",
                         start_epoch_ms=1_501_843_999_000)
    result = analysis_import_hook(conn, imported)
    stored = conn.execute("SELECT count(*), min(epoch_ms), max(epoch_ms) FROM tick").fetchone()
    states = dict(conn.execute("SELECT state, count(*) FROM tick GROUP BY state").fetchall())
    print(f"selfloops 8 h: {stored[0]} ticks, states {states}, {len(result.episodes)} episodes")
    assert stored[0] == len(result.ticks) > 5000
    assert stored[1] <= imported.first_beat_ms + 10_000 and stored[2] >= imported.last_beat_ms - 10_000
    assert states.get("calibrating", 0) < stored[0] / 2  # calibrated after the first hour(s)
    assert conn.execute("SELECT count(*) FROM baseline").fetchone()[0] > 0
    conn.close()


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="attune")
    add_analyze_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_file_json_and_csv(shared_data, capsys):
    path = shared_data / "labeled_conditions_p37/vu_ams_ecg_rr_labeled.csv"
    assert _cli(["analyze", str(path), "--tz", "UTC", "--quiet"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"ticks", "episodes"}
    tick = doc["ticks"][100]
    assert {"t_s", "epoch_ms", "hr_bpm", "ln_rmssd", "score", "state"} <= set(tick)
    assert doc["ticks"][0]["t_s"] >= 0 and tick["epoch_ms"] % 5000 == 0
    for ep in doc["episodes"]:
        assert {"onset_s", "peak_s", "end_s", "peak_score", "delta_hr_bpm", "delta_ln_rmssd", "quality"} <= set(ep)
        assert ep["onset_s"] <= ep["peak_s"] <= ep["end_s"]
    assert _cli(["analyze", str(path), "--format", "csv", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("t_s,epoch_ms,state") and len(lines) == len(doc["ticks"]) + 1


def test_cli_file_without_wall_time(shared_data, capsys):
    assert _cli(["analyze", str(shared_data / "pyhrv_reference/SampleNNISeriesLong_ms.csv"), "--quiet"]) == 0
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert "epoch_ms" not in doc["ticks"][0]
    assert "synthetic start" in out.err


def test_cli_database(tmp_path, shared_data, capsys):
    from attune.ingest.exchange import rr_import

    db = tmp_path / "d.sqlite"
    conn = db_connect(db)
    rr_import(conn, shared_data / "labeled_conditions_p37/vu_ams_ecg_rr_labeled.csv")
    conn.close()
    assert _cli(["analyze", "--db", str(db), "--tz", "UTC", "--quiet", "--from", "2023-06-30T12:20:00+00:00"]) == 0
    doc = json.loads(capsys.readouterr().out)
    conn = db_connect(db)
    # rr_import alone leaves its span analysis_pending; analyze --db finished that first
    assert conn.execute("SELECT count(*) FROM analysis_pending").fetchone()[0] == 0
    first = min(t["epoch_ms"] for t in doc["ticks"])
    assert conn.execute("SELECT count(*) FROM tick WHERE epoch_ms >= ?", (first,)).fetchone()[0] == len(doc["ticks"]) > 300
    assert min(t["epoch_ms"] for t in doc["ticks"]) >= 1_688_127_600_000 - 600_000
    conn.close()


def test_cli_errors(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert _cli(["analyze", str(empty), "--quiet"]) == 1
    assert "empty" in capsys.readouterr().err
    assert _cli(["analyze", str(empty), "--db", str(tmp_path / "x.sqlite")]) == 2
    with pytest.raises(DatabaseMissing):  # reads only: a mistyped path is refused, not created
        _cli(["analyze", "--db", str(tmp_path / "none.sqlite"), "--quiet"])
    assert not (tmp_path / "none.sqlite").exists()
    db_connect(tmp_path / "empty.sqlite").close()
    assert _cli(["analyze", "--db", str(tmp_path / "empty.sqlite"), "--quiet"]) == 0  # no beats: says so
    assert "no beats" in capsys.readouterr().err


def test_output_helpers_on_empty_result():
    result = analysis_run(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64),
                          np.zeros(0, dtype=np.int64))
    assert analysis_to_dict(result) == {"ticks": [], "episodes": []}
    buf = io.StringIO()
    analysis_ticks_csv(result, buf)
    assert buf.getvalue().startswith("t_s,")


def test_all_artifact_input_is_unknown_not_a_crash():
    rr = np.tile([380.0, 1250.0], 3000)  # nothing here is a heartbeat rhythm
    epoch = (1_700_000_000_000 + np.cumsum(rr)).astype(np.int64)
    flags = np.zeros(rr.size, dtype=np.int64)
    flags[::7] = 16  # no skin contact
    result = analysis_run(epoch, rr, np.ones(rr.size, dtype=np.int64), flags)
    assert result.ticks and {t.state for t in result.ticks} == {"unknown"}
    assert not result.episodes


def test_state_changes_follow_ticks(sim):
    a = Analyzer(QUICK)
    events = a.push(sim.epoch_ms, sim.rr_ms, sim.segment_id, sim.flags) + a.finish()
    # each tick is followed by a StateChanged exactly when its state differs from the last
    shown, pending = None, None
    for e in events:
        if isinstance(e, Tick):
            assert pending is None or pending == shown, "a state change went unreported"
            pending = e.state
        elif isinstance(e, StateChanged):
            assert e.previous == shown and e.state == pending
            shown = e.state
    assert pending == shown
    ended = [e.episode for e in events if isinstance(e, EpisodeEnded) and e.episode.status == "ended"]
    assert all(ep.onset_ms <= ep.peak_ms <= ep.end_ms and ep.confirmed_ms <= ep.end_ms + 120_000 for ep in ended)


def _store(conn, sim, segment: int) -> list:
    from attune.ingest.events import Beat

    conn.execute("INSERT INTO segment(id, source, reason, started_epoch_ms) VALUES (?, 'demo', 'connect', ?)",
                 (segment, int(sim.epoch_ms[0])))
    beats = []
    for t, rr in zip(sim.epoch_ms.tolist(), sim.rr_ms.tolist(), strict=True):
        cur = conn.execute("INSERT INTO beat(segment_id, epoch_ms, rr_ms, flags) VALUES (?,?,?,0)",
                           (segment, t, rr))
        beats.append(Beat(int(cur.lastrowid), segment, t, rr, None, None, 0))
    return beats


def test_restart_continues_the_persisted_baseline(tmp_path):
    db = tmp_path / "e.sqlite"
    day1 = day_simulate(morning_ms("2026-03-02"), 2 * 3600, seed=24, n_activations=1, n_exertions=0,
                        n_gaps=0, first_segment_id=1)
    day2 = day_simulate(morning_ms("2026-03-03"), 0.5 * 3600, seed=25, n_activations=0, n_exertions=0,
                        n_gaps=0, first_segment_id=2)
    conn = db_connect(db)
    live = LivePipeline(conn, QUICK, tz=UTC, owns_connection=True)
    beats = _store(conn, day1, 1)
    for k in range(0, len(beats), 50):
        live.push(beats[k : k + 50])
    live.close()
    used = conn.execute("SELECT count(*) FROM tick WHERE baseline_used = 1").fetchone()[0]
    end_progress = conn.execute("SELECT max(progress) FROM baseline").fetchone()[0]
    conn.close()
    assert used > QUICK.baseline.calibration_ticks and end_progress == 1.0

    conn = db_connect(db)  # a new process the next morning
    other = db_connect(db)
    live = LivePipeline(conn, QUICK, tz=UTC, owns_connection=True)
    events = live.push(_store(conn, day2, 2))
    events += live.close()
    ticks = [e for e in events if isinstance(e, Tick)]
    assert ticks and all(t.calibration == 1.0 for t in ticks)
    assert "calibrating" not in {t.state for t in ticks}
    # owning the connection: every push is committed and visible to other readers
    assert other.execute("SELECT count(*) FROM tick WHERE epoch_ms >= ?", (int(day2.epoch_ms[0]),)).fetchone()[0] \
        == len(ticks)
    conn.close()
    other.close()


def test_dangling_open_episode_is_closed_on_start(tmp_path):
    from attune.signals.events import Episode
    from attune.signals.storage import episode_upsert

    conn = db_connect(tmp_path / "f.sqlite")
    ep = Episode(1_700_000_000_000, 1_700_000_030_000, None, 1_700_000_030_000, 2.5, 9.0, -0.4, None, 1.0,
                 False, "open")
    episode_upsert(conn, ep)
    conn.execute("INSERT INTO tick(epoch_ms, state, coverage, artifact_fraction, calibration, score)"
                 " VALUES (1700000060000, 'activated', 1, 0, 1, 2.0)")
    LivePipeline(conn, tz=UTC)
    row = conn.execute("SELECT status, end_ms, duration_s FROM episode").fetchone()
    assert tuple(row) == ("ended", 1_700_000_060_000, 60.0)
    conn.close()
