"""The resonance-frequency finder's measures (issue 10): one step's figures from its
beats, and the choice of a rate from the five steps (signals.resonance)."""

from __future__ import annotations

import numpy as np
import pytest

from attune.signals.resonance import (
    RESONANCE_PROTOCOL_PER_MIN,
    ResonanceConfig,
    ResonanceStep,
    resonance_select,
    resonance_step_compute,
)
from attune.signals.simulate import BreathingProfile, rr_with_rsa

T0_MS = 1_772_000_000_000
PROTOCOL = RESONANCE_PROTOCOL_PER_MIN


def _run(person: BreathingProfile, step_s: float = 120.0, seed: int = 1, pacer=None):
    """Beats of a person following the protocol's pacer (or ``pacer(t_s)``), and each step's figures."""

    def protocol(t_s: np.ndarray) -> np.ndarray:
        return np.asarray(PROTOCOL)[np.minimum((t_s // step_s).astype(int), len(PROTOCOL) - 1)]

    sim = rr_with_rsa(T0_MS, step_s * len(PROTOCOL), pacer or protocol, seed=seed, person=person)
    steps = [resonance_step_compute(rate, sim.epoch_ms, sim.rr_ms, T0_MS + round(i * step_s * 1000),
                                    T0_MS + round((i + 1) * step_s * 1000))
             for i, rate in enumerate(PROTOCOL)]
    return sim, steps


@pytest.mark.parametrize("resonance", [5.0, 6.5])
def test_the_finder_picks_the_simulated_resonance(resonance: float) -> None:
    _, steps = _run(BreathingProfile(resonance_per_min=resonance))
    for s in steps:  # every step is measured: the heart shows the pacer's rate, coherently
        assert s.usable and s.reason is None
        assert abs(s.breath_rate_per_min - s.rate_per_min) < 0.25
        assert s.coherence > 0.9 and s.window_s == pytest.approx(105, abs=2)  # 2 min minus 15 s settling in
        assert 100 <= s.n_beats <= 120
    # peak-to-trough swing near the profile's at the step's rate (plus beat noise)
    swing = BreathingProfile(resonance_per_min=resonance).swing_bpm(np.array(PROTOCOL))
    assert np.allclose([s.rsa_bpm for s in steps], swing, atol=3.0)
    # a sine of peak-to-trough swing S has variance S²/8: the peak power is that, in bpm²
    assert np.allclose([s.peak_power_bpm2 for s in steps], swing**2 / 8, rtol=0.3)
    choice = resonance_select(steps)
    assert choice.rate_per_min == resonance
    assert f"at {resonance:g}/min" in choice.reason and "5 of 5" in choice.reason
    assert max(choice.scores) == 1.0 and choice.scores[PROTOCOL.index(resonance)] == 1.0


def test_settling_in_is_left_out() -> None:
    sim, _ = _run(BreathingProfile())
    a = resonance_step_compute(6.0, sim.epoch_ms, sim.rr_ms, T0_MS + 120_000, T0_MS + 240_000,
                               config=ResonanceConfig(settle_s=15))
    b = resonance_step_compute(6.0, sim.epoch_ms, sim.rr_ms, T0_MS + 120_000, T0_MS + 240_000,
                               config=ResonanceConfig(settle_s=45))
    assert a.window_s - b.window_s == pytest.approx(30, abs=1.5) and b.n_beats < a.n_beats
    # a window shorter than the minimum is refused
    c = resonance_step_compute(6.0, sim.epoch_ms, sim.rr_ms, T0_MS + 120_000, T0_MS + 140_000,
                               config=ResonanceConfig(settle_s=10))
    assert not c.usable and c.reason == "too short"


def test_a_step_the_heart_did_not_follow_is_left_out() -> None:
    # the person breathes at their own 14/min all through the step paced at 5/min
    def pacer(t_s: np.ndarray) -> np.ndarray:
        rate = np.asarray(PROTOCOL)[np.minimum((t_s // 120).astype(int), 4)]
        return np.where((t_s >= 360) & (t_s < 480), 14.0, rate)

    _, steps = _run(BreathingProfile(resonance_per_min=5.0), pacer=pacer)
    off = steps[3]
    assert not off.usable and off.reason == "the heart did not follow the pacer"
    assert off.breath_rate_per_min == pytest.approx(14.0, abs=0.5)  # measured, and shown to the person
    assert off.rsa_bpm is not None
    choice = resonance_select(steps)
    assert choice.scores[3] is None and "4 of 5" in choice.reason
    assert choice.rate_per_min in (4.5, 5.5)  # nearest the resonance among the steps left


def test_a_step_with_too_few_clean_beats_is_left_out() -> None:
    sim, _ = _run(BreathingProfile(resonance_per_min=5.0))
    keep = ~((sim.epoch_ms >= T0_MS + 290_000) & (sim.epoch_ms < T0_MS + 300_000))  # a 10 s dropout in step 3
    steps = [resonance_step_compute(rate, sim.epoch_ms[keep], sim.rr_ms[keep], T0_MS + i * 120_000,
                                    T0_MS + (i + 1) * 120_000) for i, rate in enumerate(PROTOCOL)]
    assert not steps[2].usable and steps[2].reason == "too few clean beats"
    assert steps[2].rsa_bpm is None and all(s.usable for i, s in enumerate(steps) if i != 2)
    assert resonance_select(steps).rate_per_min == 5.0
    none = resonance_step_compute(6.0, sim.epoch_ms[:0], sim.rr_ms[:0], T0_MS, T0_MS + 120_000)
    assert not none.usable and none.reason == "too few beats"


def test_with_fewer_than_three_usable_steps_it_could_not_tell() -> None:
    _, steps = _run(BreathingProfile(resonance_per_min=5.0))
    gone = [ResonanceStep(s.rate_per_min, 0, 0.0, None, None, None, None, False, "too few clean beats") for s in steps]
    two = [steps[0], steps[1], *gone[2:]]
    choice = resonance_select(two)
    assert choice.rate_per_min is None and choice.scores == (None,) * 5
    assert choice.reason.startswith("could not tell") and "2 of 5" in choice.reason
    assert resonance_select([steps[0], steps[1], steps[2], *gone[3:]]).rate_per_min is not None


def test_when_swing_and_peak_disagree_the_larger_on_both_together_wins() -> None:
    def step(rate: float, rsa: float, peak: float) -> ResonanceStep:
        return ResonanceStep(rate, 100, 105.0, rsa, peak, 0.9, rate, True)

    # RSA a hair larger at 6, the spectral peak much larger at 5.5: 5.5 (0.99 + 1) / 2 beats 6 (1 + 0.7) / 2
    steps = [step(6.5, 20, 50), step(6.0, 25.0, 70), step(5.5, 24.8, 100), step(5.0, 20, 60), step(4.5, 18, 40)]
    choice = resonance_select(steps)
    assert choice.rate_per_min == 5.5
    assert "largest heart swing at 6/min" in choice.reason and "largest spectral peak at 5.5/min" in choice.reason
    # an exact tie of scores goes to the larger RSA
    tie = [step(6.0, 20.0, 100), step(5.5, 25.0, 80), step(5.0, 10, 10)]
    assert resonance_select(tie).scores[0] == resonance_select(tie).scores[1] == 0.9
    assert resonance_select(tie).rate_per_min == 5.5


# -- real recordings ---------------------------------------------------------------------------------
def test_p37_paced_breathing_as_a_finder_step(shared_data) -> None:
    """The p37 ECG's paced-breathing condition (6/min, 3 min), as 90 s steps starting every
    30 s: the heart shows the pacer's rate and a large RSA; the same person sitting does
    not follow a 6/min pacer."""
    import csv

    from test_signals_breathing import _validation

    conditions = _validation().p37_conditions(shared_data)
    with open(shared_data / "labeled_conditions_p37/vu_ams_ecg_rr_labeled.csv", newline="") as f:
        rows = [(int(r["epoch_ms"]), float(r["rr_ms"])) for r in csv.DictReader(f)]
    epoch, rr = (np.array(c) for c in zip(*rows, strict=True))
    a, b = conditions["breathing"]
    paced = [resonance_step_compute(6.0, epoch, rr, t, t + 90_000) for t in range(a, b - 89_999, 30_000)]
    assert len(paced) == 4
    for s in paced:
        assert s.usable, s
        assert abs(s.breath_rate_per_min - 6.0) < 0.5
        assert 15 < s.rsa_bpm < 45 and s.coherence > 0.7 and s.peak_power_bpm2 > 20
    a, b = conditions["sitting"]
    sitting = resonance_step_compute(6.0, epoch, rr, a, a + 120_000)
    assert not sitting.usable and sitting.reason == "the heart did not follow the pacer"
    assert sitting.breath_rate_per_min > 10  # it breathes at its own ~14/min


def test_h10_slow_breathing_as_a_finder_step(shared_data) -> None:
    """polar_h10_slow_breathing (README: ~3.8 breaths/min, not paced): its first 7 min as
    2 min steps starting every minute, each paced at 4/min, are usable with a large swing;
    the same beats do not follow a 6.5/min pacer."""
    rr = np.loadtxt(shared_data / "polar_h10_slow_breathing/sample_data_ibi.csv", delimiter=",")[:, 1]
    epoch = T0_MS + np.round(np.cumsum(rr)).astype(np.int64)
    for t in range(T0_MS, T0_MS + 300_001, 60_000):
        slow = resonance_step_compute(4.0, epoch, rr, t, t + 120_000)
        fast = resonance_step_compute(6.5, epoch, rr, t, t + 120_000)
        assert slow.usable, slow
        assert abs(slow.breath_rate_per_min - 4.0) <= 0.75 and slow.rsa_bpm > 10 and slow.coherence > 0.7
        assert not fast.usable and fast.reason == "the heart did not follow the pacer"
        assert fast.breath_rate_per_min == slow.breath_rate_per_min  # the same beats, the same figures
