"""Did it help? Settling time of episodes followed by a breathing session vs those that were not.

Definitions (docs/breathing.md, "Did it help?"):

* **Settling time** of an episode = onset → half recovery, in s: ``(peak − onset) +
  half_recovery_s`` (``half_recovery_s`` is peak → half the peak score, stored per episode
  by ``signals.episodes``). An episode still open, or that never came down to half its
  peak, has none and is left out.
* **Followed by a session**: a breathing session *started* in ``[onset, onset +``
  :data:`FOLLOW_WINDOW_MS` ``)``, whichever way it was started (from the episode or from the
  header): a fixed window, the same for every episode, so the grouping does not depend on how
  long the episode took (a window up to the episode's end would put slow episodes in the
  "with" group more often). **Not followed**: no session meets that window at all. An episode
  whose onset fell *during* a session (already breathing) is in neither group; nor is one
  whose window has not passed yet (a session may still come).
* Left out as in every regulation count: episodes set aside ("I was moving") and those the
  analysis withdrew as exertion (``status = 'discarded'``, never read here).
* No figure (medians ``null``, ``comparable = false``) while either group has fewer than
  :data:`MIN_EPISODES` episodes: below 6 not even the whole range (smallest to largest)
  of a group is a 95 % confidence interval for its median (order statistics: coverage
  1 − 2·0.5ⁿ, 94 % at n = 5, 97 % at n = 6).

This is an observation, not a trial: a person chooses when to breathe, so the two groups
may differ in other ways (how strong the episode was, the time of day); the wording on
the page says so.
"""

from __future__ import annotations

import sqlite3
import statistics
from dataclasses import dataclass

from attune.api.breathing import SESSION_MAX_MS, BreathingSession, sessions_between
from attune.api.models import Episode, Settling, SettlingGroup
from attune.timeutil import datetime_to_epoch_ms, epoch_ms_to_datetime, now_ms

FOLLOW_WINDOW_MS = 10 * 60_000  # a live episode is announced ≥ 25 s after onset; opening the page and starting takes minutes
MIN_EPISODES = 6                # per group, before any median is shown (see the module's docstring)
LOOKBACK_DAYS = 28              # the day view's comparison: the four weeks ending with the day shown


@dataclass(frozen=True, slots=True)
class EpisodeSettling:
    """One episode's place in the comparison: ``group`` is ``with`` / ``without`` /
    ``during`` (began in a session) / ``pending`` (window not over) / ``none`` (no settling time)."""
    episode_id: int
    onset_ms: int
    settling_s: float | None
    group: str


def episode_settling_s(e: Episode) -> float | None:
    """Onset → half recovery of ``e`` (s), or None (open, or never down to half its peak)."""
    if e.open or e.half_recovery_s is None:
        return None
    return round((datetime_to_epoch_ms(e.peak_at) - datetime_to_epoch_ms(e.start)) / 1000 + e.half_recovery_s, 1)


def episodes_settling(episodes: list[Episode], sessions: list[BreathingSession],
                      at_ms: int | None = None) -> list[EpisodeSettling]:
    """Each episode's settling time and group (set-aside episodes are skipped)."""
    at = now_ms() if at_ms is None else at_ms
    out = []
    for e in episodes:
        if e.set_aside:
            continue
        onset = datetime_to_epoch_ms(e.start)
        s = episode_settling_s(e)
        if s is None:
            group = "none"
        elif any(x.start_ms < onset and (x.end_ms is None or x.end_ms > onset) for x in sessions):
            group = "during"
        elif any(onset <= x.start_ms < onset + FOLLOW_WINDOW_MS for x in sessions):
            group = "with"
        elif onset + FOLLOW_WINDOW_MS > at:
            group = "pending"
        else:
            group = "without"
        out.append(EpisodeSettling(e.id, onset, s, group))
    return out


def _group(values: list[float], comparable: bool) -> SettlingGroup:
    return SettlingGroup(episodes=len(values),
                         median_s=round(statistics.median(values), 1) if comparable else None)


def settling_compare(conn: sqlite3.Connection, from_ms: int, to_ms: int, episodes: list[Episode],
                     at_ms: int | None = None) -> Settling:
    """Median settling time of the episodes that began in ``[from_ms, to_ms)``, followed by a
    session or not. ``episodes``: those of a span covering it, with their tags
    (``queries.episodes_and_moments``)."""
    mine = [e for e in episodes if from_ms <= datetime_to_epoch_ms(e.start) < to_ms]
    sessions = sessions_between(conn, from_ms - SESSION_MAX_MS, to_ms + FOLLOW_WINDOW_MS)
    found = episodes_settling(mine, sessions, at_ms)
    with_s = [f.settling_s for f in found if f.group == "with"]
    without_s = [f.settling_s for f in found if f.group == "without"]
    comparable = len(with_s) >= MIN_EPISODES and len(without_s) >= MIN_EPISODES
    return Settling(
        from_=epoch_ms_to_datetime(from_ms), to=epoch_ms_to_datetime(to_ms),
        with_session=_group(with_s, comparable), without_session=_group(without_s, comparable),  # type: ignore[arg-type]
        comparable=comparable, min_episodes=MIN_EPISODES, window_s=FOLLOW_WINDOW_MS / 1000,
        left_out=sum(f.group in ("during", "pending", "none") for f in found),
    )


def sessions_minutes(sessions: list[BreathingSession], from_ms: int, to_ms: int,
                     at_ms: int | None = None) -> tuple[int, float]:
    """Sessions that began in ``[from_ms, to_ms)``, and the minutes spent breathing in that span
    (a running session counts up to now)."""
    at = now_ms() if at_ms is None else at_ms
    n = sum(from_ms <= s.start_ms < to_ms for s in sessions)
    ms = sum(max(0, min(to_ms, s.end_ms if s.end_ms is not None else at) - max(from_ms, s.start_ms))
             for s in sessions)
    return n, round(ms / 60_000, 1)
