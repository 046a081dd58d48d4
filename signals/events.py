"""Typed events the signal pipeline emits (the web app turns them into Server-Sent Events).

Every event carries ``epoch_ms``, the tick time it belongs to (not the wall-clock time
it was computed, which trails by the pipeline latency).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class State(StrEnum):
    """A tick's state (see attune.signals.states). ``calibrating`` and ``unknown`` describe
    the data; the others the person. The values are the stored and published strings."""

    SETTLED = "settled"
    ACTIVATED = "activated"
    HIGH = "high"
    RECOVERING = "recovering"
    PHYSICAL = "physical"
    CALIBRATING = "calibrating"
    UNKNOWN = "unknown"


class EpisodeStatus(StrEnum):
    """Where an episode stands; the values are the stored and published strings."""

    OPEN = "open"
    ENDED = "ended"
    DISCARDED = "discarded"  # turned out to be exertion


class MotionStatus(StrEnum):
    """Whether the body was moving during an episode (issue 8); the stored and published
    strings. ``unknown``: the strap gave no motion for it."""

    STILL = "still"
    MOVING = "moving"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Tick:
    """One 5 s tick: features, score and state. Values are None when not valid."""

    epoch_ms: int
    state: State
    hr_bpm: float | None
    hr_fast_bpm: float | None
    rmssd_ms: float | None
    ln_rmssd: float | None
    sdnn_ms: float | None
    coverage: float
    artifact_fraction: float
    score: float | None
    z_hr: float | None
    z_ln_rmssd: float | None
    calibration: float  # baseline calibration progress 0..1
    # motion (None: no accelerometer data for this tick)
    activity_mg: float | None = None  # MAD of the resultant acceleration over the 5 s tick, mg
    posture: str | None = None  # attune.signals.motion.Posture value
    cadence_spm: float | None = None  # step cadence over 10 s, steps/min (0: no step rhythm)
    hr_expected_bpm: float | None = None  # HR the current activity and posture predict
    # breathing seen in the heart rate (issue 10; None where the window does not allow it)
    breath_rate_per_min: float | None = None  # dominant HR oscillation, breaths/min
    rsa_bpm: float | None = None  # peak-to-trough HR swing per breath cycle, bpm
    coherence: float | None = None  # share of 0.04-0.26 Hz power around the dominant peak, 0..1

    kind = "tick"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The displayed state changed at ``epoch_ms`` (after hysteresis and dwell)."""

    epoch_ms: int
    state: State
    previous: State | None

    kind = "state"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True, slots=True)
class Episode:
    """An activation episode as known at some tick.

    ``onset_ms`` is its natural key: fixed when the episode starts, never changed by
    later updates, and (re-analysis permitting) reproduced by a batch analysis.
    """

    onset_ms: int
    peak_ms: int
    end_ms: int | None  # None while open
    confirmed_ms: int  # tick at which it was (or will be) announced
    peak_score: float
    delta_hr_bpm: float  # largest HR rise above baseline (60 s HR)
    delta_ln_rmssd: float  # largest lnRMSSD fall below baseline (negative)
    half_recovery_s: float | None  # peak to score <= half the peak score
    quality: float  # 0..1: valid share of its ticks x their mean coverage
    prolonged: bool
    status: EpisodeStatus
    id: int | None = None  # database row id, once stored (set by the live pipeline)
    motion: MotionStatus = MotionStatus.UNKNOWN  # still / moving / unknown during the episode

    @property
    def duration_s(self) -> float | None:
        return None if self.end_ms is None else (self.end_ms - self.onset_ms) / 1000.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "duration_s": self.duration_s}


@dataclass(frozen=True, slots=True)
class EpisodeAnnounced:
    """An episode is confirmed: the UI may offer to tag it."""

    epoch_ms: int
    episode: Episode

    kind = "episode_announced"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "epoch_ms": self.epoch_ms, "episode": self.episode.to_dict()}


@dataclass(frozen=True, slots=True)
class EpisodeUpdated:
    """An announced episode changed (new peak, prolonged, re-opened by a merge)."""

    epoch_ms: int
    episode: Episode

    kind = "episode_updated"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "epoch_ms": self.epoch_ms, "episode": self.episode.to_dict()}


@dataclass(frozen=True, slots=True)
class EpisodeEnded:
    """An announced episode is over (``episode.status`` "ended"), or was withdrawn
    because it turned into exertion (``episode.status`` "discarded")."""

    epoch_ms: int
    episode: Episode

    kind = "episode_ended"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "epoch_ms": self.epoch_ms, "episode": self.episode.to_dict()}


@dataclass(frozen=True, slots=True)
class BaselineUpdated:
    """Baseline estimates were recomputed (an update point)."""

    epoch_ms: int
    estimates: tuple  # one attune.signals.baseline.Estimate per time-of-day bin

    kind = "baseline"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "epoch_ms": self.epoch_ms, "estimates": [asdict(e) for e in self.estimates]}


@dataclass(frozen=True, slots=True)
class BaselineSampled:
    """The tick at ``epoch_ms`` has been counted into the baseline (quiet and valid)."""

    epoch_ms: int

    kind = "baseline_sample"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "epoch_ms": self.epoch_ms}


Event = Tick | StateChanged | EpisodeAnnounced | EpisodeUpdated | EpisodeEnded | BaselineUpdated | BaselineSampled
