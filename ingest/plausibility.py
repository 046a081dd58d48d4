"""Per-beat plausibility flags, set at ingest and stored with every beat.

Nothing is dropped here: a doubtful beat is stored with a flag saying why, and the signal
pipeline decides (it excludes range/contact/warm-up beats and lets artifact correction
judge the rest). Flags are a bit mask so a beat can carry several.
"""

from __future__ import annotations

import enum

import numpy as np
from numpy.typing import ArrayLike

from attune.ingest.hrm import HeartRateMeasurement

# Physiological range for an RR interval: 250 ms = 240 bpm, 2500 ms = 24 bpm. Values
# outside are sensor glitches or missed-beat sums, not heartbeats.
RR_MIN_MS = 250.0
RR_MAX_MS = 2500.0

# A trailing RR this far from its in-packet predecessor is suspect: the Garmin HRM-Dual
# family has been reported to append an interval that is not a beat.
TRAILING_RATIO = 0.4


class BeatFlag(enum.IntFlag):
    RR_OUT_OF_RANGE = 1  # outside RR_MIN_MS..RR_MAX_MS
    HR_ZERO = 2  # the packet says HR 0: sensor warming up or no beat detected
    RR_REPEATED = 4  # same ticks as the last RR of the previous packet: a possible re-send
    RR_TRAILING_SUSPECT = 8  # last RR of a multi-RR packet far from the one before it
    NO_CONTACT = 16  # the strap reports no skin contact
    AFTER_GAP = 32  # one or more beats are missing just before this one

    @classmethod
    def describe(cls, flags: int) -> list[str]:
        return [f.name.lower() for f in cls if f & flags and f.name]


# Beats with these flags never enter HRV computation.
EXCLUDED = BeatFlag.RR_OUT_OF_RANGE | BeatFlag.HR_ZERO | BeatFlag.NO_CONTACT


def beat_flags(
    rr_ms: ArrayLike, hr_bpm: ArrayLike | None = None, *, no_contact: ArrayLike = False
) -> np.ndarray:
    """The flags each beat earns on its own, for any number of beats at once.

    Parameters
    ----------
    rr_ms : array of float
        RR intervals (ms). Outside :data:`RR_MIN_MS` .. :data:`RR_MAX_MS`, or NaN:
        ``RR_OUT_OF_RANGE``.
    hr_bpm : array or scalar, optional
        The heart rate the source reported with each beat (bpm; NaN or None: not given).
        Exactly 0: ``HR_ZERO``.
    no_contact : bool array or scalar
        True where the strap reported no skin contact: ``NO_CONTACT``.

    Returns
    -------
    numpy.ndarray of int64, one flag mask per beat. The flags that depend on the packet a
    beat came in (repeated, trailing) are :func:`beat_flags_for`'s.
    """
    rr = np.asarray(rr_ms, dtype=float)
    flags = np.where((rr >= RR_MIN_MS) & (rr <= RR_MAX_MS), 0, int(BeatFlag.RR_OUT_OF_RANGE))
    if hr_bpm is not None:
        hr = np.asarray(hr_bpm, dtype=float)  # None inside an array becomes NaN: not 0
        flags |= np.where(hr == 0, int(BeatFlag.HR_ZERO), 0)
    flags |= np.where(no_contact, int(BeatFlag.NO_CONTACT), 0)
    return flags.astype(np.int64)


def beat_flags_for(
    measurement: HeartRateMeasurement, previous_rr_1024: int | None
) -> list[int]:
    """Flags for each RR value of one packet: :func:`beat_flags`, plus the flags that need
    the packet.

    ``previous_rr_1024`` is the last RR of the previous packet in the same segment (or
    None), used to spot a re-sent interval.
    """
    rr = measurement.rr_1024
    flags = beat_flags(measurement.rr_ms, measurement.hr_bpm, no_contact=measurement.contact is False).tolist()
    if len(rr) == 1 and previous_rr_1024 is not None and rr[0] == previous_rr_1024:
        flags[0] |= BeatFlag.RR_REPEATED
    if len(rr) > 1:
        before = rr[-2]
        if before and abs(rr[-1] - before) > TRAILING_RATIO * before:
            flags[-1] |= BeatFlag.RR_TRAILING_SUSPECT
    return [int(f) for f in flags]
