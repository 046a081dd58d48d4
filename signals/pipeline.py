"""The signal pipeline: beats in, ticks, states and episodes out — one code path for
live (beats pushed per packet) and batch (a stored day pushed at once).

beats → :class:`~attune.signals.artifacts.BeatCleaner` (two bounded passes)
      → :class:`~attune.signals.features.FeatureStream` (5 s ticks, 60 s / 10 s windows)
      → per tick: :class:`~attune.signals.baseline.Baseline` → :func:`score_compute`
        → :class:`~attune.signals.states.StateMachine` → :class:`EpisodeTracker`

Everything before the per-tick loop gives the same result however the beats were
chunked; the per-tick loop is sequential and sees the same ticks in the same order, so
:meth:`Analyzer.push` beat by beat and one big push produce identical events.

Quiet ticks enter the baseline after a hold-back of ``EpisodeConfig.lookback_s``: an
episode found later may claim them for its onset, and ticks of an episode never count.

Motion (:meth:`Analyzer.push_motion`, accelerometer samples as stored) goes through a
:class:`~attune.signals.motion.MotionStream` onto the same 5 s grid. A beat tick whose
motion tick exists is scored against what its movement predicts
(:mod:`attune.signals.additional_hr`); one without (no accelerometer samples in its
window) is *motion-unknown* and scored by the heart-rate-only rules, exactly as if no
motion had ever been pushed.

The hold rule (live = batch with motion): once any motion has been pushed, a beat tick
``t`` waits until the motion is known up to ``t`` (a sample at or after ``t`` arrived), or
until a beat tick ``MotionModelConfig.max_motion_lag_s`` later exists (the motion stream is
behind or has stopped: ``t`` goes on motion-unknown), or :meth:`Analyzer.finish`. Batch
pushes all motion first; live gives the same result whenever the strap's motion arrives
no more than ``max_motion_lag_s`` (of data time) behind its beats and starts before the
first beat tick is final. Before any motion was pushed nothing waits (a strap without an
accelerometer costs no latency).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo

import numpy as np

from attune.ingest.events import AccSamples, Beat
from attune.signals.additional_hr import STILL, AdditionalHR, MotionModelConfig, MotionModelState
from attune.signals.artifacts import ArtifactConfig, BeatCleaner
from attune.signals.baseline import Baseline, BaselineConfig, Estimate
from attune.signals.episodes import EpisodeConfig, EpisodeTracker
from attune.signals.events import BaselineSampled, BaselineUpdated, Event, State, StateChanged, Tick
from attune.signals.features import FeatureConfig, FeatureStream, TickFeatures
from attune.signals.motion import MotionConfig, MotionStream, MotionTick, Posture
from attune.signals.states import ScoreConfig, StateConfig, StateMachine, score_compute, score_motion

# members read once, for speed (see attune.signals.states)
SETTLED, RECOVERING, PHYSICAL, CALIBRATING, UNKNOWN = State.SETTLED, State.RECOVERING, State.PHYSICAL, State.CALIBRATING, State.UNKNOWN


@dataclass(frozen=True)
class AnalysisConfig:
    """All parameters of the pipeline (defaults documented in docs/activation.md)."""

    artifacts: ArtifactConfig = field(default_factory=ArtifactConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    score: ScoreConfig = field(default_factory=ScoreConfig)
    states: StateConfig = field(default_factory=StateConfig)
    episodes: EpisodeConfig = field(default_factory=EpisodeConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)
    motion_model: MotionModelConfig = field(default_factory=MotionModelConfig)


DEFAULT_CONFIG = AnalysisConfig()  # shared by live and batch: one set of parameters


def _opt(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _opts(x: np.ndarray) -> list[float | None]:
    """:func:`_opt` of every element (one list, no call per element)."""
    return [None if v != v else v for v in x.tolist()]  # v != v: NaN


class Analyzer:
    """Stateful analysis of one beat stream. Memory and per-tick cost stay flat.

    Parameters
    ----------
    config : AnalysisConfig
    baseline : Baseline, optional
        Baseline to continue from (e.g. rebuilt from stored ticks); a fresh one otherwise.
    tz : tzinfo
        Local time zone for the time-of-day baseline (ignored if ``baseline`` is given).
    ticks : bool
        False for a pass that only learns (the baseline): the same analysis without
        building the :class:`Tick` and :class:`StateChanged` events nobody reads.
    """

    def __init__(
        self,
        config: AnalysisConfig = AnalysisConfig(),
        baseline: Baseline | None = None,
        tz: tzinfo = UTC,
        *,
        ticks: bool = True,
        motion_lead_s: float | None = None,
        motion_state: MotionModelState | None = None,
    ) -> None:
        self.config = config
        self._ticks = ticks  # False: a calibration pass, no Tick / StateChanged events
        # live: motion ticks further than this ahead of the newest motion are dropped (beats
        # that stop while motion goes on would keep them all); None: keep (batch pushes a
        # whole span's motion before its beats)
        self._lead_ms = None if motion_lead_s is None else int(motion_lead_s * 1000)
        self.cleaner = BeatCleaner(config.artifacts)
        self.features = FeatureStream(config.features)
        self.baseline = baseline if baseline is not None else Baseline(config.baseline, tz)
        tick_ms = config.features.tick_ms
        self.machine = StateMachine(config.states, tick_ms)
        self.episodes = EpisodeTracker(config.episodes, tick_ms)
        self._holdback_ms = int(config.episodes.lookback_s * 1000)
        self._quiet: deque[list] = deque()  # [epoch_ms, hr, hr_fast, ln, still_quiet]
        self._shown: str | None = None
        self._shown_ms = 0
        self.ticks_processed = 0
        # motion
        mm = config.motion_model
        # a stored personal model (upright direction, activity -> HR curve) is continued
        up = None if motion_state is None or motion_state.upright_ref is None else np.array(motion_state.upright_ref)
        self.motion = MotionStream(config.motion, upright_ref=up)
        self.model = AdditionalHR(mm, motion_state)
        self._mticks: deque[tuple[MotionTick, bool]] = deque()  # (motion tick, orthostatic), time order
        self._pending: deque[tuple] = deque()  # beat ticks waiting for their motion
        self._lag_ms = int(mm.max_motion_lag_s * 1000)
        self._act_ms = int(mm.activity_window_s * 1000)
        self._fast_ms = config.features.fast_window_ms
        self._recovery_ms = int(mm.recovery_s * 1000)
        self._moved_ms: int | None = None  # last beat tick that was moving
        self._learn: deque[list] = deque()  # [t, activity_60, HR excess, unclaimed]: held back like quiet ticks
        self._ortho_ms = int(mm.orthostatic_s * 1000)
        self._posture_run: tuple[Posture, int] = (Posture.UNKNOWN, 0)  # last known posture, ticks held
        self._ortho_until: int | None = None

    # -- input ---------------------------------------------------------------------------
    def push(self, epoch_ms: np.ndarray, rr_ms: np.ndarray, segment_id: np.ndarray, flags: np.ndarray) -> list[Event]:
        """Add beats (arrays, arrival order); return the events that became final."""
        batch = self.cleaner.push(epoch_ms, rr_ms, segment_id, flags)
        return self._on_ticks(self.features.push(batch))

    def push_motion(self, samples: AccSamples) -> list[Event]:
        """Add accelerometer samples (time order, as stored); return the events that
        became final (beat ticks that were waiting for this motion)."""
        if not len(samples):
            return []
        for m in self.motion.push(samples.epoch_ms, samples.xyz_mg, samples.rate_hz):
            p = m.posture
            if p != Posture.UNKNOWN:
                last, held = self._posture_run
                if p == last:
                    self._posture_run = (p, held + 1)
                else:
                    # sit- or lie-to-stand: an orthostatic HR rise follows for up to a minute
                    if p == Posture.UPRIGHT and last in (Posture.RECLINED, Posture.LYING) and held >= 2:
                        self._ortho_until = m.epoch_ms + self._ortho_ms
                    self._posture_run = (p, 1)
            ortho = self._ortho_until is not None and m.epoch_ms <= self._ortho_until
            self._mticks.append((m, ortho))
        mt = self._mticks
        if self._lead_ms is not None and mt:
            # a beat tick reads the motion ticks of its last activity_window_s only
            lo = mt[-1][0].epoch_ms - self._lead_ms - self._act_ms
            while mt[0][0].epoch_ms <= lo:
                mt.popleft()
        return self._drain(False)

    @property
    def last_tick_ms(self) -> int:
        """Time of the last beat tick processed (0: none yet)."""
        return self._shown_ms

    def motion_state(self) -> MotionModelState | None:
        """The personal motion model as learnt so far (None: no motion has been pushed)."""
        if self.motion.known_through_ms is None:
            return None
        return self.model.state(self.motion.upright_ref)

    @property
    def motion_ticks_held(self) -> int:
        """Motion ticks kept for beat ticks still to come (bounded live, see ``motion_lead_s``)."""
        return len(self._mticks)

    def push_features(self, f: TickFeatures) -> list[Event]:
        """Add ticks already through cleaning and features (by a :class:`BeatCleaner` and
        :class:`FeatureStream` of this ``config``): what :meth:`push` does after them, so
        several analyses of the same beats can share that work. Do not mix with :meth:`push`."""
        return self._on_ticks(f)

    def push_beats(self, beats: Sequence[Beat]) -> list[Event]:
        """Add stored beats (as the recorder hands them to its listeners)."""
        if not beats:
            return []
        return self.push(
            np.fromiter((b.epoch_ms for b in beats), dtype=np.int64, count=len(beats)),
            np.fromiter((b.rr_ms for b in beats), dtype=float, count=len(beats)),
            np.fromiter((b.segment_id for b in beats), dtype=np.int64, count=len(beats)),
            np.fromiter((b.flags for b in beats), dtype=np.int64, count=len(beats)),
        )

    def finish(self) -> list[Event]:
        """End of stream: deliver the last ticks, end an open episode, commit quiet ticks."""
        events = self._on_ticks(self.features.push(self.cleaner.finish()))
        events += self._drain(True)
        events += self.episodes.interrupt(self._shown_ms)
        while self._quiet:
            events += self._commit(self._quiet.popleft())
        return events

    # -- the per-tick loop ---------------------------------------------------------------------
    def _on_ticks(self, f: TickFeatures) -> list[Event]:
        if not len(f):
            return []
        # plain Python lists: per-element numpy access would cost more than the work
        cols = (f.epoch_ms.tolist(), f.valid.tolist(), f.hr_bpm.tolist(), f.hr_fast_bpm.tolist(),
                _opts(f.rmssd_ms), f.ln_rmssd.tolist(), _opts(f.sdnn_ms), f.coverage.tolist(),
                f.artifact_fraction.tolist(),
                _opts(f.breath_rate_per_min), _opts(f.rsa_bpm), _opts(f.coherence))
        if self.motion.known_through_ms is None and not self._pending:
            return self._run(zip(*cols, strict=True))  # no motion so far: nothing waits
        self._pending.extend(zip(*cols, strict=True))
        return self._drain(False)

    def _drain(self, force: bool) -> list[Event]:
        """Run the waiting beat ticks that the hold rule (module docstring) releases."""
        pending = self._pending
        if not pending:
            return []
        if force:
            n = len(pending)
        else:
            known = self.motion.known_through_ms
            newest = pending[-1][0]
            n = 0
            for row in pending:
                t = row[0]
                if (known is None or known < t) and newest - t < self._lag_ms:
                    break
                n += 1
        if not n:
            return []
        rows = [pending.popleft() for _ in range(n)]
        return self._run(rows)

    def _motion_at(self, t: int) -> tuple[MotionTick, float, bool] | None:
        """The motion tick at ``t``, the mean activity of the motion ticks in the last
        ``activity_window_s`` and whether ``t`` is in an orthostatic window; None when
        ``t`` has no motion tick (motion unknown)."""
        mt = self._mticks
        lo = t - self._act_ms
        while mt and mt[0][0].epoch_ms <= lo:
            mt.popleft()
        here, total, count, ortho = None, 0.0, 0, False
        fast_lo, fast_total, fast_count = t - self._fast_ms, 0.0, 0
        for m, o in mt:
            if m.epoch_ms > t:
                break
            total += m.activity_mg
            count += 1
            if m.epoch_ms > fast_lo:
                fast_total += m.activity_mg
                fast_count += 1
            if m.epoch_ms == t:
                here, ortho = m, o
        if here is None:
            return None
        # the heart speeds up within seconds of moving (vagal withdrawal) but its 60 s
        # average lags: the expectation follows whichever activity is higher
        return here, max(total / count, fast_total / fast_count), ortho

    def _run(self, rows) -> list[Event]:
        events: list[Event] = []
        cfg = self.config
        st = cfg.states
        machine, episodes = self.machine, self.episodes
        ticks = self._ticks
        with_motion = self.motion.known_through_ms is not None
        for t, valid, hr, hr_fast, rmssd, ln, sdnn, coverage, art, breath_rate, rsa, coherence in rows:
            motion = self._motion_at(t) if with_motion else None
            if motion is not None:
                events += self._tick_motion(t, valid, hr, hr_fast, rmssd, ln, sdnn, coverage, art,
                                            (breath_rate, rsa, coherence), *motion)
                continue
            est, calibrated, previous = self._tick_open(t, events)
            scored = score_compute(hr, hr_fast, ln, est, cfg.score) if valid else None
            state = machine.step(t, scored)
            shown = UNKNOWN if not valid else (CALIBRATING if not calibrated else state)
            if ticks:
                events.append(Tick(
                    t, shown, _opt(hr), _opt(hr_fast), rmssd, _opt(ln), sdnn, coverage, art,
                    None if scored is None else scored.score,
                    None if scored is None else scored.z_hr,
                    None if scored is None else scored.z_ln_rmssd,
                    est.progress,
                    breath_rate_per_min=breath_rate, rsa_bpm=rsa, coherence=coherence,
                ))
                if shown != self._shown:
                    events.append(StateChanged(t, shown, self._shown))
            self._shown = shown
            self._shown_ms = t
            if scored is not None:
                hr_fast_excess = scored.hr_excess_bpm if math.isnan(hr_fast) else hr_fast - est.hr_fast_bpm
                suspect = hr_fast_excess >= st.physical_hr_bpm or machine.exertion(scored)
                events += episodes.step(
                    t, state, previous, scored.score, scored.hr_excess_bpm, scored.ln_rmssd_delta,
                    coverage, suspect, machine.transition_from_ms, active=calibrated,
                )
            else:
                events += episodes.step(t, state, previous, None, None, None, coverage, False, None,
                                        active=calibrated)
            events += self._quiet_track(t, scored, hr, hr_fast, ln, state, calibrated)
            self.ticks_processed += 1
        return events

    def _tick_open(self, t: int, events: list[Event]) -> tuple[Estimate, bool, State]:
        """What every tick does first, with or without motion: a baseline update when one is
        due, the estimate at ``t``, an open episode ended by a gap. Returns the estimate,
        whether the baseline is calibrated and the state before this tick."""
        baseline, machine = self.baseline, self.machine
        if baseline.update_due(t):
            baseline.update(t)
            events.append(BaselineUpdated(t, tuple(baseline.estimates())))
        est = baseline.estimate(t)
        if machine.gap_exceeded(t):
            events.extend(self.episodes.interrupt(t))
            machine.reset()
        return est, est.progress >= 1.0, machine.state

    def _tick_motion(self, t, valid, hr, hr_fast, rmssd, ln, sdnn, coverage, art, breath: tuple,
                     m: MotionTick, activity_60: float, ortho: bool) -> list[Event]:
        """One beat tick with motion known: scored against what the movement predicts."""
        events: list[Event] = []
        cfg = self.config
        mm = cfg.motion_model
        machine, episodes = self.machine, self.episodes
        est, calibrated, previous = self._tick_open(t, events)
        moving = activity_60 >= mm.moving_mg or ortho
        expected = self.model.expect(activity_60, ortho) if moving else STILL
        if moving:
            self._moved_ms = t
        # heart rate takes a minute or two to come down after moving: not counted either
        recovering = not moving and self._moved_ms is not None and t - self._moved_ms <= self._recovery_ms
        scored = score_motion(hr, hr_fast, ln, est, expected, cfg.score) if valid else None
        # exertion from the movement itself, not from the heart
        state = machine.step(t, scored, activity_60 >= mm.vigorous_mg)
        shown = UNKNOWN if not valid else (CALIBRATING if not calibrated else state)
        if self._ticks:
            events.append(Tick(
                t, shown, _opt(hr), _opt(hr_fast), rmssd, _opt(ln), sdnn, coverage, art,
                None if scored is None else scored.score,
                None if scored is None else scored.z_hr,
                None if scored is None else scored.z_ln_rmssd,
                est.progress,
                m.activity_mg, str(m.posture), m.cadence_spm,
                est.hr_bpm + expected.excess_bpm,
                *breath,
            ))
            if shown != self._shown:
                events.append(StateChanged(t, shown, self._shown))
        self._shown = shown
        self._shown_ms = t
        if scored is not None:
            # moving: only an excess well beyond what the movement explains may be offered
            suspect = (moving or recovering) and scored.score < mm.high_residual_score
            events += episodes.step(
                t, state, previous, scored.score, scored.hr_excess_bpm, scored.ln_rmssd_delta,
                coverage, suspect, machine.transition_from_ms, active=calibrated, moving=moving or recovering,
            )
            if calibrated and moving and not ortho and episodes.open_onset_ms is None:
                self._learn.append([t, activity_60, hr - est.hr_bpm, True])
        else:
            events += episodes.step(t, state, previous, None, None, None, coverage, False, None,
                                    active=calibrated, moving=moving or recovering)
        onset = episodes.open_onset_ms
        if onset is not None:
            for item in self._learn:  # an episode claims its ticks: not how movement alone looks
                if item[0] >= onset:
                    item[3] = False
        while self._learn and self._learn[0][0] <= t - self._holdback_ms:
            _, a60, excess, ok = self._learn.popleft()
            if ok:
                self.model.learn(a60, excess)
        events += self._quiet_track(t, None if moving or recovering else scored, hr, hr_fast, ln, state, calibrated)
        self.ticks_processed += 1
        return events

    def _quiet_track(self, t, scored, hr, hr_fast, ln, state, calibrated) -> list[Event]:
        """Queue the tick as a baseline candidate; commit those past the hold-back."""
        if scored is not None:
            if calibrated:
                quiet = state == SETTLED
            else:
                # while calibrating the machine compares with a half-prior baseline and
                # may sit in `activated`; accept all but exertion and extreme scores so a
                # person far from the population prior still calibrates
                quiet = (state != PHYSICAL and not (state == RECOVERING and self.machine.after_physical)
                         and scored.score < self.config.states.high_score)
            if quiet and self.episodes.open_onset_ms is None:
                self._quiet.append([t, hr, hr_fast, ln, True])
        onset = self.episodes.open_onset_ms
        if onset is not None:
            for item in self._quiet:  # an episode claims its onset ticks
                if item[0] >= onset:
                    item[4] = False
        events: list[Event] = []
        while self._quiet and self._quiet[0][0] <= t - self._holdback_ms:
            events += self._commit(self._quiet.popleft())
        return events

    def _commit(self, item: list) -> list[Event]:
        t, hr, hr_fast, ln, still_quiet = item
        if not still_quiet:
            return []
        self.baseline.add(t, hr, hr_fast, ln)
        return [BaselineSampled(t)]


