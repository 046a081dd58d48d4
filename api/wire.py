"""The one wire: typed events in, Server-Sent Event payloads out.

Both producers of live events go through :func:`wire_payload`: ``attune run``/``demo``
publish what the recorder and the live pipeline emit as they emit it; ``attune serve``
reads the rows another process stored back into the same typed events
(:mod:`attune.ingest.readers`, :mod:`attune.signals.storage`) and publishes those. So the
phone page gets the same payloads whichever command serves it.

typed event → SSE kind: payload

- ``list[Beat]`` (one batch) → ``beats``: beats (the last 300: at, rr_ms, flags), hr_bpm
  (the strap's own, of the last beat)
- :class:`~attune.ingest.events.StatusEvent` → ``link``: kind, value, at (parse errors stay inside)
- :class:`~attune.signals.events.Tick` → ``tick``: at, state, state_words (motion-aware:
  "walking — not counted"), hr_bpm, ln_rmssd, score, calibration, activity_mg, posture and
  cadence_spm (null: motion unknown), breath_rate_per_min, rsa_bpm, coherence (0..1; null where
  the 64 s window does not allow them)
- :class:`~attune.signals.events.StateChanged` → ``state``: at, state, previous, state_words
- ``EpisodeAnnounced`` / ``EpisodeUpdated`` / ``EpisodeEnded`` → ``episode``: event
  (started, updated, ended, discarded), id, at (the tick it belongs to), start, motion
  (still, moving, unknown)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from attune.api.analysis import state_words
from attune.api.live import LiveHub
from attune.ingest.events import Beat, LinkKind, StatusEvent
from attune.signals.events import (
    EpisodeAnnounced,
    EpisodeEnded,
    EpisodeStatus,
    EpisodeUpdated,
    Event,
    StateChanged,
    Tick,
)
from attune.timeutil import epoch_ms_to_iso as iso

BEATS_MAX = 300  # beats one event carries: the page's trend needs no more

# what producers hand the wire: a batch of stored beats, a stored status event, a signals event
WireEvent = Sequence[Beat] | StatusEvent | Event


def _r(x: float | None, nd: int) -> float | None:
    return None if x is None else round(x, nd)


def _posture(posture: str | None) -> str | None:
    """The posture as the page shows it: null when unknown (no motion, or not classified)."""
    return None if posture is None or posture == "unknown" else str(posture)


def wire_payload(event: WireEvent) -> tuple[str, dict[str, Any]] | None:
    """The SSE ``(kind, data)`` for one typed event; None for what stays inside
    (parse errors, baseline updates, an empty batch of beats)."""
    if isinstance(event, Tick):
        return "tick", {
            "at": iso(event.epoch_ms), "state": event.state,
            "state_words": state_words(event.state, event.activity_mg, event.cadence_spm),
            "hr_bpm": _r(event.hr_bpm, 1), "ln_rmssd": _r(event.ln_rmssd, 3), "score": _r(event.score, 2),
            "calibration": {"done": event.calibration >= 1.0, "progress": round(min(1.0, event.calibration), 3)},
            "activity_mg": _r(event.activity_mg, 1), "posture": _posture(event.posture),
            "cadence_spm": _r(event.cadence_spm, 1),
            # breathing seen in the heart rate (issue 10; null where the 64 s window does not allow it)
            "breath_rate_per_min": _r(event.breath_rate_per_min, 2), "rsa_bpm": _r(event.rsa_bpm, 2),
            "coherence": _r(event.coherence, 3),
        }
    if isinstance(event, StateChanged):
        return "state", {"at": iso(event.epoch_ms), "state": event.state, "previous": event.previous,
                         "state_words": state_words(event.state)}
    if isinstance(event, EpisodeAnnounced | EpisodeUpdated | EpisodeEnded):
        what = ("started" if isinstance(event, EpisodeAnnounced) else "updated" if isinstance(event, EpisodeUpdated)
                else "ended" if event.episode.status == EpisodeStatus.ENDED else "discarded")
        return "episode", {"event": what, "id": event.episode.id, "at": iso(event.epoch_ms),
                           "start": iso(event.episode.onset_ms), "motion": str(event.episode.motion)}
    if isinstance(event, StatusEvent):
        if event.kind == LinkKind.PARSE_ERROR:  # bytes for debugging, nothing for the page
            return None
        return "link", {"kind": event.kind, "value": event.value, "at": iso(event.epoch_ms)}
    if isinstance(event, list | tuple) and all(isinstance(b, Beat) for b in event):
        if not event:
            return None
        return "beats", {
            "beats": [{"at": iso(b.epoch_ms), "rr_ms": b.rr_ms, "flags": b.flags} for b in event[-BEATS_MAX:]],
            "hr_bpm": event[-1].hr_bpm,
        }
    return None  # baseline updates and samples stay inside


def wire_payloads(events: Iterable[WireEvent]) -> list[tuple[str, dict[str, Any]]]:
    """:func:`wire_payload` of each event, leaving out those that stay inside."""
    return [p for p in map(wire_payload, events) if p is not None]


def wire_publish(live: LiveHub, events: Iterable[WireEvent]) -> None:
    """Publish typed events to every live client, in order."""
    for kind, data in wire_payloads(events):
        live.publish(kind, data)
