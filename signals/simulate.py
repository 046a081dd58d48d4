"""Simulated days of RR intervals with known activation episodes and exertion bouts.

Used by the tests (detection against ground truth), the benchmarks and the demo (a
realistic previous day). The model, per person and day:

* **Heart period** ``60000 / HR(t)`` with HR = resting level + circadian swing (peak in
  the afternoon) + slow Ornstein-Uhlenbeck drift (posture, digestion, temperature) +
  events.
* **Vagal tone** ``v(t)`` (1 = the person's resting level) scales respiratory sinus
  arrhythmia (RSA, at a breathing rate that wanders around 0.25 Hz) and beat-to-beat
  noise, so RMSSD is roughly proportional to ``v``; it has its own slow drift.
* **Mayer waves** at ~0.1 Hz (baroreflex), partly vagal.
* Beats are placed by integral pulse frequency modulation (a beat each time the
  integrated heart rate crosses a whole number), then beat noise is added to each RR.
* **Activation episodes** (waiting, bracing): HR +6..15 bpm and RMSSD x0.5..0.7 within
  ~20 s, held 2..8 min, recovering with a ~75 s time constant.
* **Exertion bouts** (walk, stairs, cycling): HR +25..50 bpm over ~1 min, vagal tone
  x0.2..0.35, 8..25 min, then a two-speed recovery (fast ~1 min, slow ~5 min) as after
  real exercise.
* **Walks** (to the kitchen, down the corridor; ``n_walks``, none by default): HR +8..14
  bpm and vagal tone x0.65..0.8 for 2..6 min, the rise the issue-8 data shows for walking
  (median +12 bpm): from heart rate alone they look like activation.
* **Artifacts** at a given rate: premature beats (short interval + compensatory pause),
  missed beats (two intervals merged) and extra beats (one interval split).
* **Gaps**: the strap taken off for minutes (no beats; a new segment afterwards).

Every event is returned with its times, so detection can be scored.

:func:`acc_simulate` gives the same day a chest accelerometer (mg incl. gravity, as a Polar
H10's): still while sitting (breathing sway and sensor noise), stepping during walks and
exertion bouts, a reclined stretch in the evening, nothing while the strap is off.

References
----------
* Mateo, J., & Laguna, P. (2000). Improved heart rate variability signal analysis from the
  beat occurrence times according to the IPFM model. IEEE Transactions on Biomedical
  Engineering, 47(8), 985-996 (integral pulse frequency modulation).
* McSharry, P. E., Clifford, G. D., Tarassenko, L., & Smith, L. A. (2003). A dynamical
  model for generating synthetic electrocardiogram signals. IEEE Transactions on
  Biomedical Engineering, 50(3), 289-294 (RSA + Mayer wave RR model).
* Imai, K., et al. (1994). Vagally mediated heart rate recovery after exercise is
  accelerated in athletes but blunted in patients with chronic heart failure. Journal of
  the American College of Cardiology, 24(6), 1529-1535 (fast and slow HR recovery).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

import numpy as np

from attune.timeutil import datetime_to_epoch_ms, epoch_ms_to_datetime

_DT_S = 0.25  # model grid step


@dataclass(frozen=True)
class SimEvent:
    """Ground truth for one event (times in Unix ms)."""

    kind: str  # "activation" | "exertion" | "walk" | "gap"
    onset_ms: int
    plateau_end_ms: int  # the event stops driving HR (recovery starts)
    end_ms: int  # roughly back to baseline (3 recovery time constants)
    delta_hr_bpm: float = 0.0
    rmssd_factor: float = 1.0


@dataclass(frozen=True)
class PersonProfile:
    """One simulated person's resting physiology."""

    resting_hr_bpm: float = 64.0
    rmssd_ms: float = 40.0
    circadian_hr_bpm: float = 4.0  # half the afternoon-vs-morning swing
    drift_hr_bpm: float = 2.5  # SD of the slow HR drift
    drift_ln_vagal: float = 0.12  # SD of the slow log vagal-tone drift
    drift_tau_s: float = 600.0


@dataclass
class Simulation:
    """Beats of one or more simulated days and what happened in them."""

    epoch_ms: np.ndarray  # int64, time of each beat (end of its RR)
    rr_ms: np.ndarray
    segment_id: np.ndarray  # int64; a new segment after every gap
    flags: np.ndarray  # int64; 0 (the simulator makes no ingest flags)
    events: list[SimEvent] = field(default_factory=list)
    artifact_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def activations(self) -> list[SimEvent]:
        return [e for e in self.events if e.kind == "activation"]

    def exertions(self) -> list[SimEvent]:
        return [e for e in self.events if e.kind == "exertion"]

    def walks(self) -> list[SimEvent]:
        return [e for e in self.events if e.kind == "walk"]

    def __len__(self) -> int:
        return int(self.rr_ms.size)


def _ou(n: int, dt_s: float, tau_s: float, sd: float, rng: np.random.Generator) -> np.ndarray:
    """Ornstein-Uhlenbeck process (stationary, given SD and time constant).

    The AR(1) recursion ``x[k] = a x[k-1] + e[k]`` is solved exactly block by block:
    within a block ``x[k] = a^k (x0 + sum_j a^-j e[j])``, blocks short enough that
    ``a^-k`` stays below 1e6.
    """
    a = float(np.exp(-dt_s / tau_s))
    noise = rng.normal(0.0, sd * np.sqrt(1 - a * a), n)
    x = rng.normal(0.0, sd)
    out = np.empty(n)
    block = max(1, int(np.log(1e6) * tau_s / dt_s))
    for s in range(0, n, block):
        e = noise[s : s + block]
        k = np.arange(1, e.size + 1)
        out[s : s + e.size] = a**k * (x + np.cumsum(e * a ** (-k)))
        x = out[s + e.size - 1]
    return out


def _schedule(
    rng: np.random.Generator, start_s: float, stop_s: float, count: int, length_s: tuple[float, float],
    taken: list[tuple[float, float]], margin_s: float,
) -> list[tuple[float, float]]:
    """Place ``count`` non-overlapping intervals at random, ``margin_s`` from others."""
    placed: list[tuple[float, float]] = []
    for _ in range(count):
        for _attempt in range(200):
            length = rng.uniform(*length_s)
            if stop_s - length <= start_s:  # the recording is too short for it: skip
                break
            t0 = rng.uniform(start_s, stop_s - length)
            if all(t0 > b + margin_s or t0 + length < a - margin_s for a, b in taken + placed):
                placed.append((t0, t0 + length))
                break
    return sorted(placed)


def day_simulate(
    start_ms: int,
    duration_s: float = 16 * 3600,
    *,
    seed: int = 0,
    person: PersonProfile = PersonProfile(),
    n_activations: int = 8,
    n_exertions: int = 2,
    n_gaps: int = 1,
    artifact_rate: float = 0.003,
    tz: tzinfo = UTC,
    first_segment_id: int = 1,
    n_walks: int = 0,
) -> Simulation:
    """Simulate one waking day of beats.

    Parameters
    ----------
    start_ms : int
        Unix time of the start (e.g. 07:00 local).
    duration_s : float
        Length of the recording in seconds (default 16 h).
    seed : int
        Random seed: the same seed gives the same day.
    person : PersonProfile
    n_activations, n_exertions, n_gaps, n_walks : int
        How many activation episodes, exertion bouts, strap-off gaps and short walks to
        place (walks last, so a day without them is the same day as before they existed).
    artifact_rate : float
        Fraction of beats turned into artifacts (premature, missed, extra in equal parts).
    tz : tzinfo
        Local time zone (for the circadian swing).
    first_segment_id : int
        Segment id of the first beat (segments count up after each gap).

    Returns
    -------
    Simulation

    Examples
    --------
    >>> sim = day_simulate(1_700_000_000_000, 7200, n_activations=1, n_exertions=0, n_gaps=0)
    >>> 7000 < len(sim) < 9000, sim.activations()[0].kind
    (True, 'activation')
    """
    rng = np.random.default_rng(seed)
    n = int(duration_s / _DT_S)
    t = np.arange(n) * _DT_S
    t0_local = epoch_ms_to_datetime(start_ms, tz)
    hour = (t0_local.hour + t0_local.minute / 60 + t / 3600) % 24
    hr = person.resting_hr_bpm + person.circadian_hr_bpm * np.cos(2 * np.pi * (hour - 16) / 24)
    hr = hr + _ou(n, _DT_S, person.drift_tau_s, person.drift_hr_bpm, rng)
    ln_v = _ou(n, _DT_S, person.drift_tau_s, person.drift_ln_vagal, rng)

    margin = 20 * 60.0
    exert = _schedule(rng, 1800, duration_s - 3600, n_exertions, (8 * 60, 25 * 60), [], margin)
    act = _schedule(rng, 1800, duration_s - 900, n_activations, (2 * 60, 8 * 60), exert, margin)
    gaps = _schedule(rng, 3600, duration_s - 1800, n_gaps, (5 * 60, 20 * 60), exert + act, 10 * 60)
    walks = _schedule(rng, 1800, duration_s - 900, n_walks, (2 * 60, 6 * 60), exert + act + gaps, 15 * 60)

    events: list[SimEvent] = []
    for a, b in act:
        d_hr = rng.uniform(6, 15)
        factor = rng.uniform(0.5, 0.7)
        tau_on, tau_off = 7.0, 75.0  # ~20 s to 95 %, ~75 s recovery constant
        rise = 1 - np.exp(-np.clip(t - a, 0, None) / tau_on)
        fall = (1 - np.exp(-(b - a) / tau_on)) * np.exp(-np.clip(t - b, 0, None) / tau_off)
        shape = np.where(t < a, 0.0, np.where(t < b, rise, fall))
        hr += d_hr * shape
        ln_v += np.log(factor) * shape
        events.append(SimEvent("activation", start_ms + int(a * 1000), start_ms + int(b * 1000),
                               start_ms + int((b + 3 * tau_off) * 1000), round(d_hr, 2), round(factor, 3)))
    for a, b in exert:
        d_hr = rng.uniform(25, 50)
        factor = rng.uniform(0.2, 0.35)
        tau_on = 20.0
        on = np.where(t < a, 0.0, 1 - np.exp(-np.clip(t - a, 0, None) / tau_on))
        level = np.where(t < b, on, 0.0)
        at_end = 1 - np.exp(-(b - a) / tau_on)
        after = t >= b
        since = np.clip(t - b, 0, None)
        # two-speed recovery: 60 % within ~1 min, the rest over ~5 min
        rec_hr = at_end * (0.6 * np.exp(-since / 60.0) + 0.4 * np.exp(-since / 300.0))
        rec_v = at_end * np.exp(-since / 300.0)
        hr += d_hr * np.where(after, rec_hr, level)
        ln_v += np.log(factor) * np.where(after, rec_v, level)
        events.append(SimEvent("exertion", start_ms + int(a * 1000), start_ms + int(b * 1000),
                               start_ms + int((b + 900) * 1000), round(d_hr, 2), round(factor, 3)))

    for a, b in walks:
        d_hr = rng.uniform(8, 14)
        factor = rng.uniform(0.65, 0.8)
        tau_on, tau_off = 15.0, 60.0
        rise = 1 - np.exp(-np.clip(t - a, 0, None) / tau_on)
        fall = (1 - np.exp(-(b - a) / tau_on)) * np.exp(-np.clip(t - b, 0, None) / tau_off)
        shape = np.where(t < a, 0.0, np.where(t < b, rise, fall))
        hr += d_hr * shape
        ln_v += np.log(factor) * shape
        events.append(SimEvent("walk", start_ms + int(a * 1000), start_ms + int(b * 1000),
                               start_ms + int((b + 3 * tau_off) * 1000), round(d_hr, 2), round(factor, 3)))

    v = np.exp(ln_v)
    mean_rr = 60_000.0 / hr
    # RSA: breathing rate wanders around 0.25 Hz; amplitude follows vagal tone. The
    # constants make RMSSD ~= person.rmssd_ms * v at rest (checked by the tests).
    f_resp = 0.25 + _ou(n, _DT_S, 120.0, 0.03, rng)
    phase_resp = 2 * np.pi * np.cumsum(f_resp) * _DT_S
    amp_rsa = person.rmssd_ms * v / 1.05
    mayer = 0.5 * person.rmssd_ms * np.sqrt(v) * np.sin(2 * np.pi * 0.1 * t + rng.uniform(0, 2 * np.pi))
    inst_rr = mean_rr + amp_rsa * np.sin(phase_resp) + mayer
    # integral pulse frequency modulation
    beats_done = np.cumsum(_DT_S * 1000.0 / inst_rr)
    k = np.arange(1, int(beats_done[-1]))
    beat_s = np.interp(k, beats_done, t)
    rr = np.diff(beat_s, prepend=0.0) * 1000.0
    v_beat = np.interp(beat_s, t, v)
    rr = rr + rng.normal(0.0, 0.3 * person.rmssd_ms / 1.05, rr.size) * v_beat
    rr = rr[1:]  # the first interval has no real start
    beat_s = beat_s[1:]

    # strap off: drop the beats, start a new segment afterwards
    keep = np.ones(rr.size, dtype=bool)
    segment = np.full(rr.size, first_segment_id, dtype=np.int64)
    for a, b in gaps:
        inside = (beat_s >= a) & (beat_s < b)
        keep &= ~inside
        segment[beat_s >= b] += 1
        events.append(SimEvent("gap", start_ms + int(a * 1000), start_ms + int(b * 1000),
                               start_ms + int(b * 1000)))
    rr, beat_s, segment = rr[keep], beat_s[keep], segment[keep]
    # where each segment's first interval starts; artifacts keep RR sums within a segment,
    # so beat times stay on the model's clock
    firsts = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
    seg_start_s = dict(zip(segment[firsts].tolist(), (beat_s[firsts] - rr[firsts] / 1000).tolist(), strict=True))
    rr, segment, art_index = _artifacts_inject(rr, segment, artifact_rate, rng)
    epoch = _times(start_ms, rr, segment, seg_start_s)
    events.sort(key=lambda e: e.onset_ms)
    return Simulation(epoch, rr, segment, np.zeros(rr.size, dtype=np.int64), events, art_index)


ACC_RATE_HZ = 12.5  # enough for step cadence (< 3.5 Hz) at half the H10's lowest rate's cost
# Heart-rate rise over rest (bpm) that chest activity (MAD, mg) brings: the Hexoskin chest
# sessions in ../shared/data (+17 bpm at 60-150 mg, +25 at 150-300 mg, walking ~300 mg,
# jogging ~790 mg), rounded down towards the textbook 10-20 bpm of walking.
_EXCESS_MG = (60.0, 100.0, 250.0, 500.0, 800.0)
_EXCESS_BPM = (6.0, 12.0, 22.0, 35.0, 55.0)
_MAD_PER_AMPLITUDE = 0.6  # activity of the simulated step bounce per mg of its amplitude (measured)


def acc_simulate(
    sim: Simulation, start_ms: int, duration_s: float, *, seed: int = 0, rate_hz: float = ACC_RATE_HZ,
    tz: tzinfo = UTC,
) -> tuple[np.ndarray, np.ndarray]:
    """A chest accelerometer for a simulated day: ``(epoch_ms int64 (n,), xyz_mg float (n, 3))``
    at ``rate_hz``, in mg including gravity, over ``[start_ms, start_ms + duration_s)``.

    * Sitting upright (the strap a little tilted on the chest, 8° here): gravity plus
      breathing sway (~4 mg at the breathing rate) and sensor noise (~10 mg): an activity
      (MAD, signals.motion) of ~8 mg, as rest on the Hexoskin chest sessions (9 mg).
    * Walks and exertion bouts: a vertical bounce at the step frequency with a sway at the
      stride frequency, as strong as the bout's heart-rate rise asks for (``_EXCESS_*``,
      from the Hexoskin chest sessions): walks 100..115 steps/min and at least 120 mg of
      activity, exertion a brisk walk (110..125) or, from 450 mg, a run (150..170).
    * One reclined stretch of 30..60 min in the evening, after 19:00 local where the day
      reaches it and no walk, exercise or gap is under way (torso 45° back): a posture
      change each way, still throughout (an activation may fall in it).
    * Nothing while the strap is off (the simulation's gaps).

    Vectorised over the whole day (a day at 12.5 Hz is 0.7 M samples); the random stream
    is its own (``seed``), so the beats of ``sim`` are the same with or without it.

    Examples
    --------
    >>> sim = day_simulate(1_700_000_000_000, 3600, n_activations=0, n_exertions=0, n_gaps=0, n_walks=1)
    >>> t, xyz = acc_simulate(sim, 1_700_000_000_000, 3600)
    >>> len(t) == 3600 * 12.5, xyz.shape[1], 950 < float(np.median(np.linalg.norm(xyz, axis=1))) < 1050
    (True, 3, True)
    """
    rng = np.random.default_rng([seed, 8])
    n = int(duration_s * rate_hz)
    t_s = np.arange(n) / rate_hz
    epoch_ms = start_ms + np.rint(t_s * 1000).astype(np.int64)
    # torso angle back from upright (rad) and the step bounce (mg, along the torso's long axis)
    lean = np.zeros(n)
    bounce = np.zeros(n)
    sway = np.zeros(n)
    for e in sim.events:
        if e.kind not in ("walk", "exertion"):
            continue
        i, j = np.searchsorted(epoch_ms, [e.onset_ms, e.plateau_end_ms])
        if j <= i:
            continue
        # as much movement as the heart-rate rise asks for (a little more: the heart
        # follows the body, not the other way round); a hard bout is a run
        need_mg = float(np.interp(e.delta_hr_bpm, _EXCESS_BPM, _EXCESS_MG))
        if e.kind == "walk":
            activity_mg = max(120.0, need_mg * rng.uniform(1.2, 1.6))
            spm = rng.uniform(100, 115)
        else:
            activity_mg = need_mg * rng.uniform(1.05, 1.25)
            spm = rng.uniform(150, 170) if activity_mg >= 450 else rng.uniform(110, 125)
        amp = activity_mg / _MAD_PER_AMPLITUDE
        f_step = spm / 60.0 * (1 + 0.02 * np.sin(2 * np.pi * t_s[i:j] / 40.0))  # the pace wanders
        phase = 2 * np.pi * np.cumsum(f_step) / rate_hz + rng.uniform(0, 2 * np.pi)
        ramp = np.clip((t_s[i:j] - t_s[i]) / 3.0, 0, 1) * np.clip((t_s[j - 1] - t_s[i:j]) / 3.0, 0, 1)
        bounce[i:j] = ramp * (amp * np.sin(phase) + 0.25 * amp * np.sin(2 * phase + 0.7))
        sway[i:j] = ramp * 0.5 * amp * np.sin(phase / 2)  # side to side, once a stride
    # an evening on the sofa: reclined, still, in a quiet stretch of the evening
    t0_local = epoch_ms_to_datetime(start_ms, tz)
    evening_s = ((19 - t0_local.hour - t0_local.minute / 60) % 24) * 3600
    busy = [(e.onset_ms, e.end_ms) for e in sim.events if e.kind != "activation"]  # one may feel on the sofa
    length_s = rng.uniform(30, 60) * 60
    for offset_s in np.arange(evening_s, duration_s - length_s, 600.0):
        a_ms, b_ms = start_ms + int(offset_s * 1000), start_ms + int((offset_s + length_s) * 1000)
        if all(b_ms <= lo or a_ms >= hi for lo, hi in busy):
            i, j = np.searchsorted(epoch_ms, [a_ms, b_ms])
            ramp = np.clip(np.minimum(t_s[i:j] - t_s[i], t_s[j - 1] - t_s[i:j]) / 4.0, 0, 1)
            lean[i:j] = np.radians(45.0) * ramp
            break
    # sensor axes: y along the torso (up = -y, as gravity reads +1000 mg on an upright
    # strap's y), z out of the chest, x to the side; the strap sits tilted by 8°
    tilt = np.radians(8.0) + lean
    resp = 4.0 * np.sin(2 * np.pi * 0.25 * t_s + rng.uniform(0, 2 * np.pi))
    xyz = np.empty((n, 3))
    xyz[:, 0] = sway + rng.normal(0, 10.0, n)
    xyz[:, 1] = (1000.0 + bounce) * np.cos(tilt) + rng.normal(0, 10.0, n)
    xyz[:, 2] = (1000.0 + bounce) * np.sin(tilt) + resp + rng.normal(0, 10.0, n)
    # the strap off: no samples (the simulation's gaps)
    keep = np.ones(n, dtype=bool)
    for e in sim.events:
        if e.kind == "gap":
            keep &= (epoch_ms < e.onset_ms) | (epoch_ms >= e.end_ms)
    return epoch_ms[keep], xyz[keep]


def _artifacts_inject(rr: np.ndarray, segment: np.ndarray, rate: float, rng: np.random.Generator):
    """Turn ``rate`` of the beats into premature, missed or extra beats."""
    n = rr.size
    count = int(rate * n)
    if count == 0:
        return rr, segment, np.zeros(0, dtype=np.int64)
    pos = np.sort(rng.choice(np.arange(2, n - 3), count, replace=False))
    pos = pos[np.r_[True, np.diff(pos) > 3]]  # keep them apart
    kinds = rng.integers(0, 3, pos.size)
    out_rr, out_seg, marks = [], [], []
    last = 0
    shift = 0
    for p, kind in zip(pos.tolist(), kinds.tolist(), strict=True):
        if segment[p] != segment[p + 1]:
            continue
        out_rr.append(rr[last:p])
        out_seg.append(segment[last:p])
        if kind == 0:  # premature beat with compensatory pause
            f = rng.uniform(0.6, 0.8)
            a = rr[p] * f
            out_rr.append(np.array([a, rr[p] + rr[p + 1] - a]))
            out_seg.append(segment[p : p + 2])
            marks.append(p + shift)
            last = p + 2
        elif kind == 1:  # missed beat: two intervals merged
            out_rr.append(np.array([rr[p] + rr[p + 1]]))
            out_seg.append(segment[p : p + 1])
            marks.append(p + shift)
            last = p + 2
            shift -= 1
        else:  # extra beat: one interval split
            f = rng.uniform(0.3, 0.7)
            out_rr.append(np.array([rr[p] * f, rr[p] * (1 - f)]))
            out_seg.append(np.array([segment[p], segment[p]]))
            marks.append(p + shift)
            last = p + 1
            shift += 1
    out_rr.append(rr[last:])
    out_seg.append(segment[last:])
    return np.concatenate(out_rr), np.concatenate(out_seg), np.asarray(marks, dtype=np.int64)


def _times(start_ms: int, rr: np.ndarray, segment: np.ndarray, seg_start_s: dict) -> np.ndarray:
    """Beat times: RR sums within a segment, from where the segment starts."""
    epoch = np.empty(rr.size)
    starts = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
    ends = np.r_[starts[1:], rr.size]
    for a, b in zip(starts, ends, strict=True):
        epoch[a:b] = start_ms + seg_start_s[int(segment[a])] * 1000 + np.cumsum(rr[a:b])
    return np.round(epoch).astype(np.int64)


def days_simulate(
    first_start_ms: int,
    n_days: int = 2,
    *,
    seed: int = 0,
    wake_hours: float = 16.0,
    person: PersonProfile = PersonProfile(),
    tz: tzinfo = UTC,
    **day_options,
) -> Simulation:
    """Several consecutive waking days (the strap is off overnight: new segments).

    ``first_start_ms`` is the first morning's start; each next day starts 24 h
    later. Other keyword arguments go to :func:`day_simulate`.
    """
    parts = []
    segment = 1
    for d in range(n_days):
        sim = day_simulate(
            first_start_ms + d * 86_400_000, wake_hours * 3600, seed=seed * 1000 + d,
            person=person, tz=tz, first_segment_id=segment, **day_options,
        )
        segment = int(sim.segment_id.max()) + 1 if len(sim) else segment
        parts.append(sim)
    offsets = np.cumsum([0] + [len(p) for p in parts[:-1]])
    return Simulation(
        np.concatenate([p.epoch_ms for p in parts]),
        np.concatenate([p.rr_ms for p in parts]),
        np.concatenate([p.segment_id for p in parts]),
        np.concatenate([p.flags for p in parts]),
        [e for p in parts for e in p.events],
        np.concatenate([p.artifact_index + o for p, o in zip(parts, offsets, strict=True)]),
    )


@dataclass(frozen=True)
class BreathingProfile:
    """How a simulated person's heart follows their breath (paced breathing, issue 10).

    The peak-to-trough HR swing per breath is ``rest_swing_bpm`` away from resonance and
    ``resonance_gain`` times that at ``resonance_per_min``, falling off as a Gaussian of
    width ``resonance_width_per_min`` (set to the p37 recording of docs/breathing.md:
    ~9 bpm breathing freely at ~14/min, ~28 bpm paced at 6/min). A stand-in for the
    baroreflex resonance (Vaschillo et al., 2002), good enough for a demo and a finder
    protocol to have something to find, not a physiological model.
    """

    mean_hr_bpm: float = 62.0
    rest_swing_bpm: float = 8.0
    resonance_per_min: float = 6.0
    resonance_gain: float = 3.5
    resonance_width_per_min: float = 1.8
    drift_hr_bpm: float = 1.5  # SD of the slow HR drift (5 min time constant)
    beat_noise_ms: float = 8.0  # SD of the beat-to-beat noise added to each RR

    def swing_bpm(self, rate_per_min: np.ndarray | float) -> np.ndarray:
        """Peak-to-trough HR swing (bpm) when breathing at ``rate_per_min``."""
        near = np.exp(-(((np.asarray(rate_per_min, dtype=float) - self.resonance_per_min)
                         / self.resonance_width_per_min) ** 2))
        return self.rest_swing_bpm * (1 + (self.resonance_gain - 1) * near)


def rr_with_rsa(
    start_ms: int,
    duration_s: float,
    breath_rate_per_min: float | Callable[[np.ndarray], np.ndarray] = 6.0,
    *,
    seed: int = 0,
    person: BreathingProfile = BreathingProfile(),
    segment_id: int = 1,
) -> Simulation:
    """Beats whose heart rate follows a breathing rate: respiratory sinus arrhythmia.

    The heart rate rises on the in-breath and falls on the out-breath, a sine at the
    breathing rate with the swing :meth:`BreathingProfile.swing_bpm` (largest at
    resonance), on a slowly drifting mean; beats are placed by integral pulse frequency
    modulation, as in :func:`day_simulate`, then beat noise is added.

    Parameters
    ----------
    start_ms : int
        Unix time of the start.
    duration_s : float
        Length in seconds.
    breath_rate_per_min : float or callable
        The breathing rate, breaths/min: a constant (a pacer), or a function of the time
        from the start (seconds, array) to the rate (e.g. the finder's steps).
    seed : int
        Random seed: the same seed gives the same beats.
    person : BreathingProfile
    segment_id : int

    Returns
    -------
    Simulation
        One segment, no artifacts, no events.

    Examples
    --------
    >>> sim = rr_with_rsa(1_700_000_000_000, 120, 6.0)
    >>> 110 < len(sim) < 140
    True
    """
    rng = np.random.default_rng(seed)
    n = int(duration_s / _DT_S) + 1
    t = np.arange(n) * _DT_S
    rate = np.broadcast_to(np.asarray(breath_rate_per_min(t) if callable(breath_rate_per_min)
                                      else breath_rate_per_min, dtype=float), t.shape)
    phase = 2 * np.pi * np.cumsum(rate / 60.0) * _DT_S
    hr = (person.mean_hr_bpm + _ou(n, _DT_S, 300.0, person.drift_hr_bpm, rng)
          + person.swing_bpm(rate) / 2 * np.sin(phase))
    beats_done = np.cumsum(hr / 60.0 * _DT_S)  # integral pulse frequency modulation
    k = np.arange(1, int(beats_done[-1]))
    beat_s = np.interp(k, beats_done, t)
    rr = np.diff(beat_s) * 1000.0 + rng.normal(0.0, person.beat_noise_ms, beat_s.size - 1)
    epoch = start_ms + np.round(beat_s[0] * 1000 + np.cumsum(rr)).astype(np.int64)
    return Simulation(epoch, rr, np.full(rr.size, segment_id, dtype=np.int64), np.zeros(rr.size, dtype=np.int64))


def morning_ms(date: str, hour: float = 7.0, tz: tzinfo = UTC) -> int:
    """Unix ms of ``hour`` o'clock local time on ISO ``date`` (e.g. ``"2026-03-02"``)."""
    day = datetime.fromisoformat(date).replace(tzinfo=tz)
    return datetime_to_epoch_ms(day + timedelta(hours=hour))
