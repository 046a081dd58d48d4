"""Score, state machine (hysteresis, dwell, abrupt-rise gate, exertion) and episodes."""

from __future__ import annotations

import pytest

from attune.signals.baseline import Estimate
from attune.signals.episodes import EpisodeConfig, EpisodeTracker
from attune.signals.events import EpisodeAnnounced, EpisodeEnded, State
from attune.signals.states import Scored, StateMachine, score_compute

T0 = 1_772_409_600_000


def _s(score: float, hr_excess: float = 0.0, ln_delta: float = 0.0) -> Scored:
    return Scored(score, score, score, hr_excess, ln_delta)


def _run(machine: StateMachine, scores, start: int = T0, **kw) -> list[str]:
    return [machine.step(start + 5000 * i, None if s is None else _s(s, **kw)) for i, s in enumerate(scores)]


def test_score_combines_heart_rate_and_vagal_tone():
    est = Estimate(65, 4, 65, 5, 3.7, 0.3, 1.0, 1000)
    s = score_compute(75, 77, 3.2, est)
    assert s.z_hr == pytest.approx(0.5 * 10 / 4 + 0.5 * 12 / 5)
    assert s.z_ln_rmssd == pytest.approx(0.5 / 0.3)
    assert s.score == pytest.approx(0.5 * s.z_hr + 0.5 * s.z_ln_rmssd)
    assert score_compute(65, float("nan"), 3.7, est).score == pytest.approx(0.0)
    assert score_compute(60, 60, 4.0, est).score < 0  # calmer than usual


def test_abrupt_rise_activates_slow_drift_does_not():
    m = StateMachine()
    states = _run(m, [0.0] * 60 + [2.2] * 10)
    assert states[-1] == State.ACTIVATED
    drift = [min(2.4, 0.01 * i) for i in range(400)]  # 0 -> 2.4 over half an hour
    m = StateMachine()
    assert State.ACTIVATED not in _run(m, drift)


def test_very_high_scores_need_no_rise():
    m = StateMachine()
    states = _run(m, [3.5] * 10)  # e.g. just after a reset, without history
    assert states[-1] in (State.ACTIVATED, State.HIGH)


def test_hysteresis_no_flicker_around_thresholds():
    m = StateMachine()
    _run(m, [0.0] * 60 + [2.2] * 4)
    assert m.state == State.ACTIVATED
    wobble = [1.2, 0.9, 1.3, 0.8, 1.6, 0.9, 1.1] * 10  # crosses release_score all the time
    states = _run(m, wobble, start=T0 + 64 * 5000)
    assert set(states) == {State.ACTIVATED}
    states = _run(m, [0.3] * 20, start=T0 + 200 * 5000)
    # release after 20 s below 1.0, settled after 30 s below 0.5
    assert states[2] == State.ACTIVATED and states[3] == State.RECOVERING and states[-1] == State.SETTLED


def test_high_and_back():
    m = StateMachine()
    states = _run(m, [0.0] * 60 + [2.0] * 3 + [3.5] * 4 + [2.0] * 4)
    assert State.HIGH in states and states[-1] == State.ACTIVATED


def test_exertion_is_physical_and_recovers_without_episodes():
    m = StateMachine()
    states = _run(m, [0.0] * 60 + [6.0] * 20, hr_excess=30.0, ln_delta=-1.5)
    assert states[-1] == State.PHYSICAL
    states = _run(m, [2.5] * 30, start=T0 + 80 * 5000, hr_excess=8.0, ln_delta=-0.5)
    assert State.RECOVERING in states and State.ACTIVATED not in states  # post-exercise HR is not emotion
    states = _run(m, [0.2] * 10, start=T0 + 110 * 5000)
    assert states[-1] == State.SETTLED


def test_vagal_withdrawal_with_moderate_hr_rise_is_exertion():
    m = StateMachine()
    states = _run(m, [0.0] * 60 + [4.5] * 20, hr_excess=15.0, ln_delta=-1.2)  # walking
    assert states[-1] == State.PHYSICAL
    m = StateMachine()
    states = _run(m, [0.0] * 60 + [3.0] * 30, hr_excess=12.0, ln_delta=-0.6)  # strong emotion
    assert State.PHYSICAL not in states


def test_gap_resets():
    m = StateMachine()
    _run(m, [0.0] * 60 + [2.2] * 4)
    assert m.state == State.ACTIVATED
    assert not m.gap_exceeded(T0 + 64 * 5000 + 30_000)
    assert m.gap_exceeded(T0 + 64 * 5000 + 65_000)


def _episodes(scores, suspect=None):
    m = StateMachine()
    tr = EpisodeTracker()
    events = []
    for i, s in enumerate(scores):
        t = T0 + 5000 * i
        prev = m.state
        sc = None if s is None else _s(s, hr_excess=2 * s, ln_delta=-0.1 * s)
        st = m.step(t, sc)
        events += tr.step(t, st, prev, s, None if sc is None else sc.hr_excess_bpm,
                          None if sc is None else sc.ln_rmssd_delta, 1.0,
                          bool(suspect and suspect(i)), m.transition_from_ms)
    events += tr.interrupt(T0 + 5000 * len(scores))
    return events


def test_episode_onset_peak_end_and_announcement():
    scores = [0.0] * 60 + [0.3, 0.8, 1.2, 1.8, 2.4, 3.1, 3.4, 3.0, 2.6, 2.0] + [1.8] * 6 + [0.8] * 6 + [0.2] * 30
    events = _episodes(scores)
    announced = [e for e in events if isinstance(e, EpisodeAnnounced)]
    ended = [e for e in events if isinstance(e, EpisodeEnded)]
    assert len(announced) == 1 and len(ended) == 1
    ep = ended[0].episode
    assert ep.onset_ms == T0 + 61 * 5000  # where the score crossed 0.5 (looking back from entry)
    assert ep.peak_ms == T0 + 66 * 5000 and ep.peak_score == pytest.approx(3.4)
    assert announced[0].epoch_ms - ep.onset_ms >= EpisodeConfig().min_duration_s * 1000  # minimum duration
    assert ep.end_ms == T0 + 82 * 5000  # first tick of the final sub-0.5 stretch
    assert ep.half_recovery_s == pytest.approx((76 - 66) * 5.0)  # 3.4 -> 0.8 <= 1.7
    assert ep.delta_hr_bpm == pytest.approx(6.8) and ep.status == "ended"


def test_short_bursts_are_not_episodes():
    scores = [0.0] * 60 + [2.5] * 4 + [0.0] * 40
    assert not [e for e in _episodes(scores) if isinstance(e, EpisodeAnnounced)]


def test_near_neighbours_merge():
    burst = [2.5] * 12 + [0.2] * 10
    scores = [0.0] * 60 + burst + [0.0] * 2 + [2.5] * 12 + [0.2] * 40
    ended = [e for e in _episodes(scores) if isinstance(e, EpisodeEnded)]
    assert len(ended) == 1
    far = [0.0] * 60 + burst + [0.0] * 60 + [2.5] * 12 + [0.2] * 40
    assert len([e for e in _episodes(far) if isinstance(e, EpisodeEnded)]) == 2


def test_prolonged_flag():
    scores = [0.0] * 60 + [2.5] * (21 * 12) + [0.2] * 40
    ended = [e for e in _episodes(scores) if isinstance(e, EpisodeEnded)]
    assert ended[0].episode.prolonged


def test_exertion_suspicion_delays_and_physical_withdraws():
    scores = [0.0] * 60 + [3.0] * 30 + [0.2] * 40
    events = _episodes(scores, suspect=lambda i: 60 <= i < 66)
    ann = [e for e in events if isinstance(e, EpisodeAnnounced)]
    assert ann and ann[0].epoch_ms >= T0 + (65 * 5000) + 60_000
    # an announced episode that turns into exertion is withdrawn
    m = StateMachine()
    tr = EpisodeTracker()
    events = []
    for i in range(120):
        t = T0 + 5000 * i
        s = 0.0 if i < 60 else 3.0
        exert = i >= 75
        sc = _s(s, hr_excess=30.0 if exert else 6.0, ln_delta=-1.5 if exert else -0.3)
        prev = m.state
        st = m.step(t, sc)
        events += tr.step(t, st, prev, s, sc.hr_excess_bpm, sc.ln_rmssd_delta, 1.0, False, m.transition_from_ms)
    ends = [e for e in events if isinstance(e, EpisodeEnded)]
    assert ends and ends[0].episode.status == "discarded"


def test_no_announcement_on_unknown_ticks():
    scores = [0.0] * 60 + [2.5] * 3 + [None] * 20
    assert not [e for e in _episodes(scores) if isinstance(e, EpisodeAnnounced)]


def test_nothing_starts_while_calibrating():
    m = StateMachine()
    tr = EpisodeTracker()
    events = []
    for i, s in enumerate([0.0] * 60 + [2.5] * 20):
        t = T0 + 5000 * i
        prev = m.state
        st = m.step(t, _s(s))
        events += tr.step(t, st, prev, s, 0.0, 0.0, 1.0, False, m.transition_from_ms, active=False)
    assert not events
