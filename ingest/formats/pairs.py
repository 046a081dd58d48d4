"""Two numbers per line and no header: a time column and the beat's RR interval or heart
rate. Research exports come like this, e.g. PhysioNet's "Heart Rate Oscillations during
Meditation" (``time_s  HR_bpm``, HR = 60 / the interval ending at that beat) and host logs
of a Polar strap (``arrival_s,rr_ms``, several beats sharing one BLE notification's time).

Without a header the columns are told apart by what they hold, and only when the two
agree with each other, so an unrelated pair of numbers is refused rather than guessed:

``time-hr``
    the second column is a heart rate (median 25-250 bpm) and the time steps between
    rows are the intervals it implies: ``60 / hr`` within 5 % of ``Δt`` for most rows.
``time-rr``
    the second column is an RR interval in ms (median 250-2500) and the intervals add up
    to the time the first column spans (ratio 0.8-1.25).

The time column must not go backwards. It is wall-clock time when it reads as Unix
seconds or milliseconds (2001-2100), otherwise seconds from the recording's start, which
gives no wall time (``attune import`` then asks for ``--start``; ``attune analyze`` lays
the beats from a fixed origin). RR always comes from the interval column (``60000 / hr``
for ``time-hr``, exactly the interval the heart rate was computed from), so beat times
within the file follow the intervals, as for every other format.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from attune.ingest.formats.text import _Text

_MIN_ROWS = 16
_MIN_ROW_SHARE = 0.9     # of the non-blank lines; the rest are counted skips
_HR_BPM = (25.0, 250.0)  # median of a heart-rate column
_RR_MS = (250.0, 2500.0)  # median of an RR column in ms
_HR_STEP_TOLERANCE = 0.05  # |Δt - 60/hr| / Δt
_HR_STEP_SHARE = 0.8     # of the rows with Δt > 0 (a missed beat breaks one step, not the file)
_RR_SPAN_RATIO = (0.8, 1.25)  # sum(rr) / time spanned
_UNIX_S = (978_307_200.0, 4_102_444_800.0)  # 2001-01-01 .. 2100-01-01
_SPLIT = re.compile(r"[\s,;]+")


def pairs_parse(text: _Text) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each line as exactly two numbers: (first, second, is_pair) over all lines
    (NaN where a line is not a pair of finite numbers). Parsed once per file: detection and
    the reader both ask."""
    if text._pairs is not None:
        return text._pairs
    n = len(text.lines)
    first = np.full(n, np.nan)
    second = np.full(n, np.nan)
    fields = pd.Series([_SPLIT.split(line.strip()) for line in text.lines], dtype=object)
    two = fields.map(len).to_numpy() == 2
    if two.any():
        cells = pd.DataFrame(fields[two].tolist(), columns=("a", "b"))
        first[two] = pd.to_numeric(cells["a"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        second[two] = pd.to_numeric(cells["b"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(first) & np.isfinite(second)
    first[~ok] = np.nan
    second[~ok] = np.nan
    text._pairs = (first, second, ok)
    return text._pairs


def pairs_time_scale_s(t: np.ndarray) -> tuple[float, bool]:
    """(seconds per unit of the time column, whether it is Unix wall time)."""
    med = float(np.median(t))
    if _UNIX_S[0] <= med <= _UNIX_S[1]:
        return 1.0, True
    if _UNIX_S[0] * 1000 <= med <= _UNIX_S[1] * 1000:
        return 0.001, True
    return 1.0, False


def pairs_detect(text: _Text) -> str | None:
    """``"time-hr"`` or ``"time-rr"`` when the file is such a two-column table, else None."""
    t, v, ok = pairs_parse(text)
    nonblank = sum(1 for line in text.lines if line.strip())
    n = int(ok.sum())
    if n < _MIN_ROWS or n < _MIN_ROW_SHARE * nonblank:
        return None
    t, v = t[ok], v[ok]
    if np.any(np.diff(t) < 0):
        return None
    scale, _ = pairs_time_scale_s(t)
    t_s = t * scale
    med = float(np.median(v))
    if _HR_BPM[0] <= med <= _HR_BPM[1] and np.all(v > 0):
        dt = np.diff(t_s)
        step = dt > 0
        if step.sum() >= _MIN_ROWS:
            err = np.abs(dt[step] - 60.0 / v[1:][step]) / dt[step]
            if float(np.mean(err < _HR_STEP_TOLERANCE)) >= _HR_STEP_SHARE:
                return "time-hr"
    if _RR_MS[0] <= med <= _RR_MS[1]:
        span_s = float(t_s[-1] - t_s[0])
        if span_s > 0:
            # the first interval ends at the first row: it is not inside the span
            ratio = float(np.sum(v[1:])) / 1000.0 / span_s
            if _RR_SPAN_RATIO[0] <= ratio <= _RR_SPAN_RATIO[1]:
                return "time-rr"
    return None
