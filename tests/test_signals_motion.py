"""Motion features (attune.signals.motion): synthetic cases with known answers, and the
real Hexoskin chest accelerometer against the device's own cadence (run with -s to see
the measured numbers)."""

from __future__ import annotations

import json
import wave

import numpy as np
import pytest
from conftest import missing

from attune.signals.motion import (
    MotionConfig,
    Posture,
    cadence_estimate,
    motion_ticks,
    nominal_rate_hz,
    posture_classify,
    posture_events,
    upright_reference,
)

T0_MS = 1_700_000_000_000  # a multiple of 5000
UP = np.array([0.0, -1.0, 0.0])  # gravity direction of an upright wearer in these tests


def _times(rate_hz: float, duration_s: float, t0_ms: float = T0_MS) -> np.ndarray:
    return t0_ms + np.arange(int(round(duration_s * rate_hz))) * 1000.0 / rate_hz


def _still(direction: np.ndarray, rate_hz: float = 25.0, duration_s: float = 60.0, noise_mg: float = 3.0, seed: int = 0):
    t = _times(rate_hz, duration_s)
    d = np.asarray(direction, dtype=float) / np.linalg.norm(direction)
    acc = 1000.0 * d + np.random.default_rng(seed).normal(0.0, noise_mg, (t.size, 3))
    return t, acc


def _walk(step_hz: float, rate_hz: float = 25.0, duration_s: float = 60.0, up=UP, amp_mg: float = 300.0, t0_ms=T0_MS):
    """Gravity along ``up`` with a vertical oscillation at the step frequency."""
    t = _times(rate_hz, duration_s, t0_ms)
    s = (t - t0_ms) / 1000.0
    u = np.asarray(up, dtype=float) / np.linalg.norm(up)
    acc = np.outer(1000.0 + amp_mg * np.sin(2 * np.pi * step_hz * s), u)
    return t, acc


# ---------------------------------------------------------------- synthetic


def test_tick_grid_and_windows():
    t, acc = _still(UP, duration_s=30.0)
    mt = motion_ticks(t, acc, upright_ref=UP)
    assert np.all(mt.epoch_ms % 5000 == 0)
    # the first sample is at T0 exactly: it is the only sample of the tick at T0 (window (T0 - 5 s, T0])
    assert mt.epoch_ms[0] == T0_MS and mt.n_samples[0] == 1 and not mt.valid[0]
    assert np.all(mt.n_samples[1:] == 125) and np.all(mt.coverage[1:] == 1.0) and np.all(mt.valid[1:])
    assert mt.epoch_ms[-1] <= t[-1]
    assert mt.rate_hz == pytest.approx(25.0)


@pytest.mark.parametrize(
    ("direction", "posture", "tilt"),
    [(UP, Posture.UPRIGHT, 0.0), ([0.0, 0.0, 1.0], Posture.LYING, 90.0), ([0.0, -1.0, 1.0], Posture.RECLINED, 45.0),
     ([0.0, 1.0, 0.0], Posture.LYING, 180.0)],
)
def test_still_sensor_posture(direction, posture, tilt):
    t, acc = _still(direction)
    mt = motion_ticks(t, acc, upright_ref=UP)
    v = mt.valid
    assert set(mt.posture[v]) == {posture}
    assert np.allclose(mt.tilt_deg[v], tilt, atol=1.0)
    assert np.all(mt.activity_mg[v] < 5.0)  # 3 mg sensor noise
    assert np.all(mt.cadence_spm[v] == 0.0)
    assert np.all(mt.posture[~v] == Posture.UNKNOWN)


@pytest.mark.parametrize("rate_hz", [12.5, 25.0, 50.0, 64.0, 100.0, 200.0])
def test_pure_2hz_oscillation_is_120_steps_per_min(rate_hz):
    t, acc = _walk(2.0, rate_hz=rate_hz)
    mt = motion_ticks(t, acc, upright_ref=UP)
    c = mt.cadence_spm[~np.isnan(mt.cadence_spm)]
    assert c.size >= 9
    assert np.all(np.abs(c - 120.0) <= 1.0), c
    # MAD of a 300 mg sine = 300 * 2/pi = 191 mg
    assert np.allclose(mt.activity_mg[mt.valid], 600 / np.pi, rtol=0.03)
    assert set(mt.posture[mt.valid]) == {Posture.UPRIGHT}


@pytest.mark.parametrize("step_hz", [1.3, 1.5, 2.5, 3.0, 3.4])
def test_cadence_over_the_range(step_hz):
    t, acc = _walk(step_hz, rate_hz=25.0)
    mt = motion_ticks(t, acc, upright_ref=UP)
    c = mt.cadence_spm[~np.isnan(mt.cadence_spm)]
    assert np.all(np.abs(c - 60 * step_hz) <= 0.02 * 60 * step_hz), c


def test_running_stride_is_not_taken_for_the_step():
    """A run: 2.8 steps/s with a left/right difference (a 1.4 Hz stride component). The
    stride lag (0.71 s) lies inside the search range; the step (0.36 s) must win."""
    t = _times(50.0, 30.0)
    s = (t - T0_MS) / 1000.0
    r = 1000 + 500 * np.sin(2 * np.pi * 2.8 * s) + 150 * np.sin(2 * np.pi * 1.4 * s)
    spm, per = cadence_estimate(r[-500:], 50.0)
    assert spm[0] == pytest.approx(168.0, abs=2.0) and per[0] > 0.4


def test_noise_has_no_cadence():
    rng = np.random.default_rng(1)
    spm, _ = cadence_estimate(1000 + rng.normal(0, 100, (20, 250)), 25.0)
    assert np.all(spm == 0.0)


def test_gaps_lower_coverage():
    t, acc = _walk(2.0, rate_hz=25.0, duration_s=120.0)
    s = (t - T0_MS) / 1000.0
    keep = ~(((s > 22.0) & (s <= 24.0)) | ((s > 31.0) & (s <= 32.0)) | ((s > 50.0) & (s <= 80.0)))
    mt = motion_ticks(t[keep], acc[keep], upright_ref=UP)
    by_tick = dict(zip(((mt.epoch_ms - T0_MS) // 1000).tolist(), range(len(mt)), strict=True))
    i25, i35 = by_tick[25], by_tick[35]
    assert mt.coverage[i25] == pytest.approx(0.6) and not mt.valid[i25] and np.isnan(mt.activity_mg[i25])
    assert mt.posture[i25] == Posture.UNKNOWN
    assert mt.coverage[i35] == pytest.approx(0.8) and mt.valid[i35]  # at the threshold: still valid
    assert not any(55 <= k <= 80 for k in by_tick)  # no samples, no tick
    assert np.isnan(mt.cadence_spm[by_tick[85]])  # its 10 s window (75, 85] is half empty
    assert mt.cadence_spm[by_tick[95]] == pytest.approx(120.0, abs=1.0)
    assert np.all(mt.coverage < 1.0) == False  # noqa: E712 -- the untouched ticks stay at 1
    assert (mt.coverage < 1.0).sum() >= 2


def test_live_equals_batch_per_tick():
    """A tick computed from only the last 10 s of samples (at the strap's configured rate)
    equals the whole-record tick, bit for bit."""
    t, acc = _walk(1.8, rate_hz=25.0, duration_s=120.0)
    acc = acc + np.random.default_rng(2).normal(0, 20, acc.shape)
    whole = motion_ticks(t, acc, upright_ref=UP)
    for k in (5, 12, 20):
        tick = whole.epoch_ms[k]
        part = (t > tick - 10_000) & (t <= tick)
        live = motion_ticks(t[part], acc[part], upright_ref=UP, rate_hz=25.0)
        j = int(np.flatnonzero(live.epoch_ms == tick)[0])
        for name in ("activity_mg", "enmo_mg", "tilt_deg", "cadence_spm", "step_periodicity", "coverage"):
            assert getattr(live, name)[j] == getattr(whole, name)[k], name
        assert np.array_equal(live.gravity_mg[j], whole.gravity_mg[k])


def test_upright_reference_learnt_from_walking_then_lying_event():
    u = np.array([0.3, -0.9, -0.3])
    u /= np.linalg.norm(u)
    tw, aw = _walk(1.9, rate_hz=25.0, duration_s=120.0, up=u)
    lying_dir = np.cross(u, [1.0, 0.0, 0.0])
    tl, al = _still(lying_dir, rate_hz=25.0, duration_s=60.0)
    tl = tl + (tw[-1] - T0_MS) + 40.0
    mt = motion_ticks(np.r_[tw, tl], np.r_[aw, al])
    assert mt.upright_ref is not None and np.degrees(np.arccos(mt.upright_ref @ u)) < 1.0
    walking = mt.cadence_spm > 0
    assert walking.sum() >= 20 and set(mt.posture[walking]) == {Posture.UPRIGHT}
    events = posture_events(mt.epoch_ms, mt.posture)
    assert len(events) == 1
    assert (events[0].before, events[0].after) == (Posture.UPRIGHT, Posture.LYING)
    assert abs(events[0].epoch_ms - tl[0]) <= 5_000


def test_no_walking_no_reference():
    t, acc = _still(UP, duration_s=120.0)
    mt = motion_ticks(t, acc)
    assert mt.upright_ref is None
    assert set(mt.posture) == {Posture.UNKNOWN} and np.all(np.isnan(mt.tilt_deg))
    assert upright_reference(np.tile(UP, (5, 1)), np.full(5, 110.0)) is None  # under a minute


def test_posture_events_need_dwell():
    p = np.array(["upright"] * 4 + ["reclined"] + ["upright"] * 4 + ["lying"] * 3, dtype=object)
    ev = posture_events(np.arange(p.size) * 5000, p)
    assert [(e.epoch_ms, e.before, e.after) for e in ev] == [(45_000, Posture.UPRIGHT, Posture.LYING)]
    assert posture_events(np.zeros(0), np.zeros(0, dtype=object)) == []
    # lying down through one reclined tick is one change, from the end of upright
    p = np.array(["upright"] * 3 + ["reclined"] + ["lying"] * 3, dtype=object)
    ev = posture_events(np.arange(p.size) * 5000, p)
    assert [(e.epoch_ms, e.before, e.after) for e in ev] == [(15_000, Posture.UPRIGHT, Posture.LYING)]
    # a single tick in another posture is no change; a return is a second event
    p = np.array(["lying"] * 3 + ["upright"] + ["lying"] * 2 + ["upright"] * 2 + ["lying"] * 2, dtype=object)
    ev = posture_events(np.arange(p.size) * 5000, p)
    assert [(e.epoch_ms, e.before, e.after) for e in ev] == [
        (30_000, Posture.LYING, Posture.UPRIGHT), (40_000, Posture.UPRIGHT, Posture.LYING)]


def test_small_helpers_and_errors():
    assert [str(p) for p in posture_classify(np.array([29.9, 30.0, 59.9, 60.0]))] == [
        "upright", "reclined", "reclined", "lying"]
    assert nominal_rate_hz(np.array([0.0, 40.0, 80.0, 2000.0, 2040.0])) == pytest.approx(25.0)
    with pytest.raises(ValueError):
        motion_ticks(np.array([2.0, 1.0]), np.zeros((2, 3)))
    with pytest.raises(ValueError):
        MotionConfig(cadence_window_ms=7_000)
    empty = motion_ticks(np.zeros(0), np.zeros((0, 3)))
    assert len(empty) == 0


# ---------------------------------------------------------------- real: Hexoskin chest

SESSIONS = ("003", "004", "005", "006", "007", "008")


def _wav(path):
    with wave.open(str(path)) as w:
        return w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float)


def _windowed(series: np.ndarray, sec: np.ndarray, a: int, b: int, fn) -> np.ndarray:
    """fn(series[s + a : s + b]) for each whole second s (1 Hz device outputs); NaN off the end."""
    out = np.full(sec.size, np.nan)
    for i, s in enumerate(sec.astype(int)):
        if s + a >= 0 and s + b <= series.size:
            out[i] = fn(series[s + a : s + b])
    return out


def _to_25hz(t: np.ndarray, acc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """64 Hz -> 25 Hz (a Polar H10's rate): band-limited to 12 Hz (FFT brick wall, as a
    sensor's decimation filter does before its 25 Hz output), then linearly interpolated
    onto a 40 ms grid."""
    spec = np.fft.rfft(acc, axis=0)
    freq = np.fft.rfftfreq(acc.shape[0], d=(t[1] - t[0]) / 1000.0)
    spec[freq > 12.0] = 0.0
    smooth = np.fft.irfft(spec, n=acc.shape[0], axis=0)
    t25 = np.arange(t[0], t[-1], 40.0)
    return t25, np.column_stack([np.interp(t25, t, smooth[:, i]) for i in range(3)])


@pytest.fixture(scope="module")
def hexoskin(request):
    root = request.getfixturevalue("shared_data") / "hexoskin_chest_acc"
    if not root.is_dir():
        missing(f"{root} not found (the Hexoskin sessions of ../shared/data)")
    out = {}
    for name in SESSIONS:
        f = root / name
        start_ms = json.loads((f / "info.json").read_text())["timestamp"] * 1000.0
        rate, x = _wav(f / "acceleration_X.wav")
        _, y = _wav(f / "acceleration_Y.wav")
        _, z = _wav(f / "acceleration_Z.wav")
        acc = np.column_stack([x, y, z]) * 1000.0 / 256.0  # 1 g = 256 counts
        t = start_ms + np.arange(x.size) * 1000.0 / rate
        _, cadence = _wav(f / "cadence.wav")
        mt = motion_ticks(t, acc)
        sec = (mt.epoch_ms - start_ms) / 1000.0
        lo = _windowed(cadence, sec, -10, 0, np.min)
        hi = _windowed(cadence, sec, -10, 0, np.max)
        out[name] = {
            "t": t, "acc": acc, "ticks": mt,
            "device_spm": _windowed(cadence, sec, -10, 0, np.mean),  # the same 10 s as ours
            # steady stepping by the device's own measure: stepping all 10 s, range <= 10 spm
            "steady": (lo > 0) & (hi - lo <= 10),
            # at rest: the device counted no step from 30 s before the tick to 10 s after
            "rest": _windowed(cadence, sec, -30, 10, np.max) == 0,
        }
    return out


def test_real_cadence_agrees_with_the_device(hexoskin):
    """Tolerance: over the device's steady stepping ticks (walking, stairs, treadmill walk
    and jog), median |ours - device| <= 3 steps/min and >= 95 % of ticks within 6 steps/min
    (>= 90 % in every session)."""
    errs = []
    for name, d in hexoskin.items():
        s = d["steady"]
        err = d["ticks"].cadence_spm[s] - d["device_spm"][s]
        errs.append(err)
        within = float(np.mean(np.abs(err) <= 6))
        print(f"\n[motion] {name} cadence: steady ticks {s.sum()}, median |err| {np.median(np.abs(err)):.1f} spm, "
              f"within 6 spm {within:.3f}, device range {np.nanmin(d['device_spm'][s]):.0f}-{np.nanmax(d['device_spm'][s]):.0f} spm")
        assert s.sum() >= 50
        assert within >= 0.90
    e = np.concatenate(errs)
    print(f"[motion] all cadence: {e.size} ticks, median |err| {np.median(np.abs(e)):.2f} spm, mean err {e.mean():+.2f}, "
          f"within 6 spm {np.mean(np.abs(e) <= 6):.3f}, within 10 spm {np.mean(np.abs(e) <= 10):.3f}")
    assert np.median(np.abs(e)) <= 3.0
    assert np.mean(np.abs(e) <= 6) >= 0.95


def test_real_activity_separates_rest_walking_jogging(hexoskin):
    """Rest median <= 20 mg and p95 <= 100 mg; walking p5 >= 150 mg; jogging median >= 500 mg;
    the rest p95 lies below the walking p5."""
    rest = np.concatenate([d["ticks"].activity_mg[d["rest"]] for d in hexoskin.values()])
    walk = np.concatenate([d["ticks"].activity_mg[d["steady"] & (d["device_spm"] < 140)] for d in hexoskin.values()])
    jog = np.concatenate([d["ticks"].activity_mg[d["steady"] & (d["device_spm"] >= 140)] for d in hexoskin.values()])
    rest, walk, jog = rest[~np.isnan(rest)], walk[~np.isnan(walk)], jog[~np.isnan(jog)]
    r50, r95 = np.percentile(rest, [50, 95])
    w5, w50 = np.percentile(walk, [5, 50])
    j5, j50 = np.percentile(jog, [5, 50])
    print(f"\n[motion] activity (MAD, mg): rest n={rest.size} median {r50:.0f} p95 {r95:.0f}; "
          f"walking n={walk.size} p5 {w5:.0f} median {w50:.0f}; jogging n={jog.size} p5 {j5:.0f} median {j50:.0f}")
    assert r50 <= 20 and r95 <= 100
    assert w5 >= 150 and r95 < w5
    assert jog.size >= 20 and j50 >= 500 and j5 > w50


def test_real_posture_upright_while_walking(hexoskin):
    """Upright reference learnt from the first half of each session only; in the second
    half >= 95 % of the walking ticks are upright."""
    for name, d in hexoskin.items():
        t, acc = d["t"], d["acc"]
        half = t < t[0] + (t[-1] - t[0]) / 2
        ref = motion_ticks(t[half], acc[half]).upright_ref
        assert ref is not None, name
        mt = motion_ticks(t[~half], acc[~half], upright_ref=ref)
        walking = mt.cadence_spm >= 70
        frac = float(np.mean(mt.posture[walking] == Posture.UPRIGHT))
        print(f"\n[motion] {name} posture: walking ticks (2nd half) {walking.sum()}, upright {frac:.3f}, "
              f"tilt median {np.nanmedian(mt.tilt_deg[walking]):.1f} deg p95 {np.nanpercentile(mt.tilt_deg[walking], 95):.1f} deg, "
              f"reference {np.round(ref, 2).tolist()}")
        assert walking.sum() >= 30 and frac >= 0.95


def test_real_25hz_close_to_64hz(hexoskin):
    """Resampled to 25 Hz: activity close (relative |diff| over ticks > 50 mg: median <= 10 %,
    p95 <= 20 %; 25 Hz reads a few % lower because the heel-strike content above its
    12.5 Hz Nyquist is gone, so activity thresholds belong to a sample rate / device),
    cadence within 5 spm for 95 % of stepping ticks, posture the same in >= 99 % of ticks,
    upright reference within 1 deg."""
    for name, d in hexoskin.items():
        m64 = d["ticks"]
        m25 = motion_ticks(*_to_25hz(d["t"], d["acc"]))
        _, i, j = np.intersect1d(m64.epoch_ms, m25.epoch_ms, return_indices=True)
        v = m64.valid[i] & m25.valid[j]
        a64, a25 = m64.activity_mg[i][v], m25.activity_mg[j][v]
        moving = a64 > 50
        rel = np.abs(a25 - a64)[moving] / a64[moving]
        stepping = v & (m64.cadence_spm[i] > 0)
        dc = np.abs(m25.cadence_spm[j] - m64.cadence_spm[i])[stepping]
        same = float(np.mean(m25.posture[j][v] == m64.posture[i][v]))
        ref_deg = float(np.degrees(np.arccos(np.clip(m25.upright_ref @ m64.upright_ref, -1, 1))))
        print(f"\n[motion] {name} 25 vs 64 Hz: activity rel |diff| median {np.median(rel):.3f} p95 {np.percentile(rel, 95):.3f} "
              f"(25 Hz lower by {np.median(a64 - a25):.0f} mg median); cadence |diff| p95 {np.percentile(dc, 95):.1f} spm "
              f"(<= 5: {np.mean(dc <= 5):.3f}); posture same {same:.3f}; reference {ref_deg:.2f} deg")
        assert np.median(rel) <= 0.10 and np.percentile(rel, 95) <= 0.20
        assert np.mean(dc <= 5) >= 0.95
        assert same >= 0.99 and ref_deg <= 1.0


@pytest.mark.parametrize("shape", ["ramp", "quadratic", "step"])
def test_no_step_rhythm_is_no_cadence(shape):
    """A slow drift or a single change has no autocorrelation peak in the step range: no
    cadence (it was read as ~3,260 steps/min with periodicity 1)."""
    t = np.arange(0, 10, 1 / 25)
    x = {"ramp": 1000 + 30 * t, "quadratic": 1000 + 50 * t**2, "step": 1000 + 300 * (t >= 5)}[shape]
    spm, _ = cadence_estimate(x, 25.0)
    assert spm[0] == 0.0
