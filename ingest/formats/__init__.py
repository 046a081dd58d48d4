"""Read RR-interval files exported by the tools people already use.

One entry point, :func:`rr_file_read`, turns a file into an :class:`RRSeries`
(RR intervals in milliseconds, plus per-beat wall-clock times and heart rate
when the file carries them).  :func:`rr_file_detect` only names the format.

Supported formats (ids in :data:`FORMATS`, tried in this order):

``selfloops``
    The SelfLoops app's own export: a first line with the start time
    (``04 August 2017 12:53:19``, local time without zone), then the header
    ``Time (ms),HR (bpm),R-R (ms)``.  ``Time (ms)`` is the beat time relative
    to that start, so ``epoch_ms = start + Time``.
``polar-sensor-logger``
    Polar Sensor Logger ``*_RR.txt``: ``Phone timestamp;RR-interval [ms]``,
    timestamps like ``2021-09-13T10:52:53.870`` in the phone's local time,
    without zone.
``hrv-logger``
    HRV Logger (Marco Altini) RR export and FatMaxxer ``*.rr.csv``, which
    copies it: columns ``timestamp, rr, since_start`` (``timestamp`` = Unix ms
    when the phone received the beat; a blank line follows the header) or the
    classic ``date,rr,since start`` (``date`` = ISO-like date-time).
``csv-rr_ms``
    Any delimited table (``,`` ``;`` or tab) with a header naming an RR column
    (``rr_ms``, ``rr``, ``RR``, ``RR-interval [ms]``, ``ibi``, ``nni_ms``,
    ``rr_s`` ...) and optionally a time column (``epoch_ms``, ``time_ns``,
    ``timestamp`` ...) and an HR column (``hr_bpm``, ``HR``, ``bpm`` ...).
``physionet-rr-secs``
    PhysioNet ``ann2rr`` output: one value per line in seconds, every value a
    multiple of 1/128 s, and **the first value is the offset from record start
    to the first beat, not an RR interval** (it is dropped, with a note).
``rr-lines``
    One RR per line (Kubios / Elite HRV style), in ms or in seconds (median
    below 10 means seconds, converted to ms).  Header, comment and blank lines
    are skipped and counted.
``time-hr`` / ``time-rr``
    Two numbers per line without a header: a time column and the beat's heart
    rate (PhysioNet meditation ``time_s  HR_bpm``) or RR in ms (a host log of a
    strap); see :mod:`attune.ingest.formats.pairs`.

Detection (content only, never the file name; first match wins):

1. ``selfloops`` -- one of the first two non-blank lines is exactly the
   app's header ``Time (ms),HR (bpm),R-R (ms)``.
2. Tables -- among the first 20 non-blank lines, a header row (delimited,
   no numbers in it) followed, within 2000 rows, by a row with a number in
   its RR column.  ``Phone timestamp`` + ``RR-interval`` columns make it
   ``polar-sensor-logger``; ``rr`` + ``timestamp``/``date`` + ``since start``
   make it ``hrv-logger``; any other recognised RR column ``csv-rr_ms``.
3. One number per line -- lines before the first number are a free preamble
   (title, header); after it, single-number lines must be at least as many as
   text lines.  If the preamble's last line is a column name that is not an RR
   name (``ecg_adc``, ``hr_bpm``, ``Time (s)``) the file is refused.
   ``physionet-rr-secs`` when, in addition, there is no text line at all, at
   least 16 values, the median is below 10 (seconds), every value is a
   multiple of 1/128 s *and* at least half are not multiples of 1/32 s (a
   list of round seconds such as 0.5, 0.75, 1.0 sits on the grid without being
   a 128 Hz series).  By content alone an ``ann2rr`` file cannot be told from
   plain seconds quantised to 1/128 s; the first value (an offset of minutes in
   nsr2db, 5.9 s in chf201) does not decide either.  Pass
   ``format="rr-lines"`` to read such a file without dropping its first value.
   Otherwise ``rr-lines``.
4. Two numbers per line (space, tab, comma or semicolon), no header, at least
   16 rows and 90 % of the lines, time never going back: ``time-hr`` when the
   second column is a heart rate whose implied intervals match the time steps,
   ``time-rr`` when it is RR (ms) adding up to the time spanned; else refused.

Conventions: ``rr_ms[i]`` is the interval that *ends* at beat ``i``, in
milliseconds, in file order.  ``epoch_ms`` is Unix time in milliseconds (UTC).
Local times without a zone (SelfLoops, Polar Sensor Logger, HRV Logger
``date``) are interpreted in the ``tz`` argument, by default the local time
zone of the machine running the code.  Lines that do not yield a beat
(non-numeric, malformed, blank, non-positive or non-finite RR) are skipped and
counted in :attr:`RRSeries.skipped_lines`; nothing is dropped silently.
"""

from __future__ import annotations

import numpy as np

from attune.ingest.format_ids import FORMAT_DESCRIPTIONS, FORMATS
from attune.ingest.formats.detect import _detect, _detect_forced
from attune.ingest.formats.readers import _READERS, _finish
from attune.ingest.formats.series import RRFormatError, RRSeries
from attune.ingest.formats.text import PathLike, _load_text
from attune.ingest.formats.times import TzLike, _resolve_tz

__all__ = [
    "FORMATS",
    "FORMAT_DESCRIPTIONS",
    "RRFormatError",
    "RRSeries",
    "rr_file_detect",
    "rr_file_read",
]


def rr_file_detect(path: PathLike) -> str:
    """Detect the RR file format from the file's content (not its name).

    Parameters
    ----------
    path : str or os.PathLike
        File to inspect.

    Returns
    -------
    str
        A format id from :data:`FORMATS`.

    Raises
    ------
    RRFormatError
        The content matches no supported format (empty, binary, a table
        without an RR column, no numeric lines ...); the message says why and
        lists every supported format.
    OSError
        The file cannot be opened.

    Examples
    --------
    >>> rr_file_detect("FatMaxOptimiser.20210606_161059.rr.csv")  # doctest: +SKIP
    'hrv-logger'
    """
    text = _load_text(path)
    with np.errstate(over="ignore", invalid="ignore"):
        return _detect(text).format


def rr_file_read(path: PathLike, format: str | None = None, *, tz: TzLike = None) -> RRSeries:
    """Read RR intervals (ms) from a file, auto-detecting its format.

    Parameters
    ----------
    path : str or os.PathLike
        File to read.
    format : str, optional
        Force a format id from :data:`FORMATS` instead of detecting it (e.g.
        ``"rr-lines"`` to keep the first value of a seconds file that detection
        took for a PhysioNet offset).
    tz : str or datetime.tzinfo, optional
        Time zone for local times written without a zone (SelfLoops start
        line, Polar Sensor Logger and HRV Logger ``date`` timestamps), e.g.
        ``"Europe/Berlin"`` or ``"UTC"``.  Default: the local time zone of the
        machine running the code (honours ``TZ``).  Times that carry a zone or
        are Unix numbers are not affected.  In a daylight-saving fall-back hour
        an ambiguous local time is read as its first occurrence.

    Returns
    -------
    RRSeries
        ``rr_ms`` in milliseconds (float64, > 0), ``epoch_ms`` in Unix ms or
        None, ``hr_bpm`` or None, ``start_epoch_ms`` or None, the number of
        skipped lines and explanatory notes.

    Raises
    ------
    RRFormatError
        The file is not a supported RR file, does not match the forced
        ``format``, or holds no valid RR interval.
    ValueError
        Unknown ``format`` id or time zone.
    OSError
        The file cannot be opened.

    Examples
    --------
    >>> rr = rr_file_read("nsr2db_nsr001_rr_secs.txt")  # doctest: +SKIP
    >>> rr.format, len(rr), round(60000 / rr.rr_ms.mean())  # doctest: +SKIP
    ('physionet-rr-secs', 106459, 79)
    """
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown RR file format {format!r}; choose one of: {', '.join(FORMATS)}")
    zone = _resolve_tz(tz)
    text = _load_text(path)
    with np.errstate(over="ignore", invalid="ignore"):  # absurd numbers end up non-finite and skipped
        det = _detect(text) if format is None else _detect_forced(text, format)
        raw = _READERS[det.format](text, det, zone)
        return _finish(det.format, raw, text.path)
