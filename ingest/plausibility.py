"""Per-beat plausibility flags, set at ingest and stored with every beat.

Nothing is dropped here: a doubtful beat is stored with a flag saying why, and the signal
pipeline decides (it excludes range/contact/warm-up beats and lets artifact correction
judge the rest). Flags are a bit mask so a beat can carry several.
"""

from __future__ import annotations

import enum

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


def beat_flags_for(
    measurement: HeartRateMeasurement, previous_rr_1024: int | None
) -> list[int]:
    """Flags for each RR value of one packet.

    ``previous_rr_1024`` is the last RR of the previous packet in the same segment (or
    None), used to spot a re-sent interval.
    """
    rr = measurement.rr_1024
    packet_flags = 0
    if measurement.hr_bpm == 0:
        packet_flags |= BeatFlag.HR_ZERO
    if measurement.contact is False:
        packet_flags |= BeatFlag.NO_CONTACT
    flags = []
    for i, ticks in enumerate(rr):
        f = packet_flags
        rr_ms = ticks * 1000.0 / 1024
        if not RR_MIN_MS <= rr_ms <= RR_MAX_MS:
            f |= BeatFlag.RR_OUT_OF_RANGE
        if i == 0 and previous_rr_1024 is not None and ticks == previous_rr_1024 and len(rr) == 1:
            f |= BeatFlag.RR_REPEATED
        if i == len(rr) - 1 and i > 0:
            before = rr[i - 1]
            if before and abs(ticks - before) > TRAILING_RATIO * before:
                f |= BeatFlag.RR_TRAILING_SUSPECT
        flags.append(int(f))
    return flags
