"""Activation episodes: onset, peak, end, and what the UI needs to offer a tag.

An episode starts when the state machine enters ``activated`` from ``settled``. Its
**onset** is found by looking back (at most ``lookback_s``) from that tick to where the
score last crossed ``onset_score`` upwards: the start of the unbroken run of valid ticks
at or above it. The episode is **announced** (confirmed) once it has lasted
``min_duration_s`` from onset and is still under way (the machine activated or high and
the score still at least ``confirm_score``) — so every announced episode satisfies the
minimum duration — and exertion has not been suspected
for ``suspicion_clear_s`` (suspected: the 10 s or 60 s HR at least
``StateConfig.physical_hr_bpm`` above baseline, or the exertion rule of the state machine
already true). Walking starts with a heart-rate overshoot long before the 60 s features
can call it ``physical``; waiting keeps such starts from prompting a tag.

The **peak** is the tick of the highest score. The episode **ends** where the score fell
below ``settle_score`` for good (the machine returns to ``settled``); if the machine is
activated again within ``merge_gap_s`` of that end, the episode continues (near
neighbours merge) — so ``EpisodeEnded`` is emitted only after the merge window has passed.
An episode during which the machine enters ``physical`` is withdrawn (``discarded``):
exertion, not emotion. An episode that lasts ``prolonged_s`` is flagged ``prolonged``.

Reported per episode: ΔHR (largest 60 s HR rise above baseline), ΔlnRMSSD (largest fall
below baseline), duration, time from peak to half the peak score (half-recovery), and a
quality figure = share of valid ticks x their mean window coverage.

**Motion** (:class:`~attune.signals.events.MotionStatus`): ``unknown`` when fewer than half
of the episode's ticks had accelerometer data; otherwise ``moving`` when at least
``moving_share`` of those ticks were moving, else ``still``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from attune.signals.events import (
    Episode,
    EpisodeAnnounced,
    EpisodeEnded,
    EpisodeStatus,
    EpisodeUpdated,
    MotionStatus,
    State,
)

# members read once, for speed (see attune.signals.states)
SETTLED, ACTIVATED, HIGH, PHYSICAL = State.SETTLED, State.ACTIVATED, State.HIGH, State.PHYSICAL


@dataclass(frozen=True)
class EpisodeConfig:
    """Episode timing (seconds) and the onset threshold (score units)."""

    onset_score: float = 0.5
    lookback_s: float = 180.0
    min_duration_s: float = 25.0
    confirm_score: float = 1.0  # = StateConfig.release_score: still elevated
    merge_gap_s: float = 120.0
    prolonged_s: float = 20 * 60.0
    suspicion_clear_s: float = 60.0
    update_peak_step: float = 0.5  # announce a new peak only when it grew this much
    moving_share: float = 0.25  # share of motion-known ticks moving that makes an episode `moving`


@dataclass
class _Open:
    onset_ms: int
    peak_ms: int
    peak_score: float
    delta_hr: float
    delta_ln: float
    half_recovery_ms: int | None
    n_ticks: int
    n_valid: int
    coverage_sum: float
    announced: bool = False
    confirmed_ms: int | None = None
    prolonged: bool = False
    end_ms: int | None = None  # tentative end while waiting for the merge window
    last_valid_ms: int | None = None
    announced_peak: float = -math.inf
    suspect_ms: int | None = None  # last tick at which exertion was suspected
    n_motion: int = 0  # ticks with motion known
    n_moving: int = 0  # ... of which moving


class EpisodeTracker:
    """Follows the state machine tick by tick and emits episode events."""

    def __init__(self, config: EpisodeConfig = EpisodeConfig(), tick_ms: int = 5000) -> None:
        self.config = config
        self.tick_ms = tick_ms
        # recent ticks for the onset look-back: (epoch_ms, score or None, coverage, ΔHR,
        # ΔlnRMSSD, exertion suspected, moving: None = motion unknown)
        self._recent: deque[tuple] = deque(maxlen=int(config.lookback_s * 1000 // tick_ms) + 1)
        self._open: _Open | None = None

    @property
    def open_onset_ms(self) -> int | None:
        return None if self._open is None else self._open.onset_ms

    def step(
        self,
        epoch_ms: int,
        state: str,
        previous: str,
        score: float | None,
        delta_hr: float | None,
        delta_ln: float | None,
        coverage: float,
        suspect_exertion: bool,
        settled_from_ms: int | None,
        active: bool = True,
        moving: bool | None = None,
    ) -> list:
        """Advance one tick; ``state``/``previous`` are the machine's states after/before it.

        ``active`` is False while the baseline is still calibrating: nothing starts.
        Returns a list of episode events.
        """
        cfg = self.config
        events: list = []
        self._recent.append((epoch_ms, score, coverage, delta_hr, delta_ln, suspect_exertion, moving))
        ep = self._open
        if ep is not None:
            # account for this tick
            ep.n_ticks += 1
            if moving is not None:
                ep.n_motion += 1
                ep.n_moving += moving
            if score is not None:
                ep.n_valid += 1
                ep.coverage_sum += coverage
                ep.last_valid_ms = epoch_ms
                if score > ep.peak_score:
                    ep.peak_score, ep.peak_ms, ep.half_recovery_ms = score, epoch_ms, None
                elif ep.half_recovery_ms is None and score <= ep.peak_score / 2:
                    ep.half_recovery_ms = epoch_ms
                ep.delta_hr = max(ep.delta_hr, delta_hr)
                ep.delta_ln = min(ep.delta_ln, delta_ln)
            if state == PHYSICAL:
                self._open = None
                if ep.announced:
                    events.append(EpisodeEnded(epoch_ms, self._snapshot(ep, EpisodeStatus.DISCARDED, end_ms=epoch_ms)))
                return events
            if ep.end_ms is not None:
                if state in (ACTIVATED, HIGH):  # back within the merge window: same episode
                    ep.end_ms = None
                    if ep.announced:
                        events.append(EpisodeUpdated(epoch_ms, self._snapshot(ep, EpisodeStatus.OPEN)))
                elif epoch_ms - ep.end_ms >= cfg.merge_gap_s * 1000:
                    events += self._close(epoch_ms)
                    ep = None
            elif state == SETTLED and previous != SETTLED:
                ep.end_ms = settled_from_ms if settled_from_ms is not None else epoch_ms
                if not ep.announced:  # never confirmed: too short or exertion-like
                    self._open = None
                    ep = None
                else:  # tentative end: final once the merge window has passed
                    events.append(EpisodeUpdated(epoch_ms, self._snapshot(ep, EpisodeStatus.OPEN)))
            if ep is not None and ep.end_ms is None and score is not None:  # never on an unknown tick
                events += self._maybe_announce(ep, epoch_ms, state, suspect_exertion, score)
        if self._open is None and active and state == ACTIVATED and previous == SETTLED:
            self._open = self._start(epoch_ms)
            events += self._maybe_announce(self._open, epoch_ms, state, suspect_exertion, score)
        return events

    def _start(self, epoch_ms: int) -> _Open:
        cfg = self.config
        onset = epoch_ms
        ticks = list(self._recent)
        for t, s, *_ in reversed(ticks):
            if s is None or s < cfg.onset_score or epoch_ms - t > cfg.lookback_s * 1000:
                break
            onset = t
        valid = [x for x in ticks if x[0] >= onset and x[1] is not None]
        n_inside = sum(1 for x in ticks if x[0] >= onset)
        # the first tick of the highest score
        peak_t, peak_s = epoch_ms, -math.inf
        for t, s, *_ in valid:
            if s > peak_s:
                peak_t, peak_s = t, s
        suspected = [x[0] for x in valid if x[5]]
        motion = [x[6] for x in ticks if x[0] >= onset and x[6] is not None]
        return _Open(
            onset_ms=onset, peak_ms=peak_t, peak_score=peak_s,
            delta_hr=max(x[3] for x in valid), delta_ln=min(x[4] for x in valid),
            half_recovery_ms=None, n_ticks=n_inside, n_valid=len(valid),
            coverage_sum=sum(x[2] for x in valid), last_valid_ms=epoch_ms,
            suspect_ms=suspected[-1] if suspected else None,
            n_motion=len(motion), n_moving=sum(motion),
        )

    def _maybe_announce(self, ep: _Open, epoch_ms: int, state: str, suspect: bool, score: float) -> list:
        cfg = self.config
        events: list = []
        if not ep.announced:
            if suspect:
                ep.suspect_ms = epoch_ms
            cleared = ep.suspect_ms is None or epoch_ms - ep.suspect_ms >= cfg.suspicion_clear_s * 1000
            ongoing = state in (ACTIVATED, HIGH) and score >= cfg.confirm_score
            if ongoing and cleared and epoch_ms - ep.onset_ms >= cfg.min_duration_s * 1000:
                ep.announced = True
                ep.confirmed_ms = epoch_ms
                ep.announced_peak = ep.peak_score
                events.append(EpisodeAnnounced(epoch_ms, self._snapshot(ep, EpisodeStatus.OPEN)))
            return events
        changed = False
        if not ep.prolonged and epoch_ms - ep.onset_ms >= cfg.prolonged_s * 1000:
            ep.prolonged = True
            changed = True
        if ep.peak_score >= ep.announced_peak + cfg.update_peak_step:
            ep.announced_peak = ep.peak_score
            changed = True
        if changed:
            events.append(EpisodeUpdated(epoch_ms, self._snapshot(ep, EpisodeStatus.OPEN)))
        return events

    def _close(self, epoch_ms: int) -> list:
        ep = self._open
        self._open = None
        if ep is None or not ep.announced:
            return []
        return [EpisodeEnded(epoch_ms, self._snapshot(ep, EpisodeStatus.ENDED))]

    def interrupt(self, epoch_ms: int) -> list:
        """The data stopped (long gap or end of stream): end an open episode where its
        valid data ended; an unconfirmed one is dropped."""
        ep = self._open
        self._recent.clear()
        if ep is None:
            return []
        if ep.end_ms is None:
            ep.end_ms = ep.last_valid_ms if ep.last_valid_ms is not None else epoch_ms
        return self._close(epoch_ms)

    def _snapshot(self, ep: _Open, status: EpisodeStatus, end_ms: int | None = None) -> Episode:
        end = end_ms if end_ms is not None else ep.end_ms
        quality = (ep.n_valid / ep.n_ticks) * (ep.coverage_sum / ep.n_valid) if ep.n_valid else 0.0
        half = None if ep.half_recovery_ms is None else (ep.half_recovery_ms - ep.peak_ms) / 1000.0
        return Episode(
            onset_ms=ep.onset_ms, peak_ms=ep.peak_ms, end_ms=end,
            confirmed_ms=ep.confirmed_ms if ep.confirmed_ms is not None else ep.onset_ms,
            peak_score=round(ep.peak_score, 6),
            delta_hr_bpm=round(ep.delta_hr, 6) if math.isfinite(ep.delta_hr) else 0.0,
            delta_ln_rmssd=round(ep.delta_ln, 6) if math.isfinite(ep.delta_ln) else 0.0,
            half_recovery_s=half, quality=round(min(1.0, quality), 4), prolonged=ep.prolonged, status=status,
            motion=self._motion(ep),
        )

    def _motion(self, ep: _Open) -> MotionStatus:
        if ep.n_ticks == 0 or 2 * ep.n_motion < ep.n_ticks:
            return MotionStatus.UNKNOWN
        return MotionStatus.MOVING if ep.n_moving >= self.config.moving_share * ep.n_motion else MotionStatus.STILL

