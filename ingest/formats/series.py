"""What reading an RR file gives (:class:`RRSeries`), and the error when it cannot
(:class:`RRFormatError`, whose message lists the supported formats when detection fails)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from attune.errors import AttuneError
from attune.ingest.format_ids import FORMAT_DESCRIPTIONS


class RRFormatError(AttuneError, ValueError):
    """A file could not be read as RR intervals; the message says why.

    When auto-detection fails, the message names every supported format.
    """


@dataclass(frozen=True, eq=False)
class RRSeries:
    """RR intervals read from a file.

    Attributes
    ----------
    format : str
        Format id (one of :data:`FORMATS`).
    rr_ms : numpy.ndarray
        float64, the interval ending at each beat, in milliseconds, file order.
        Always finite and > 0.
    epoch_ms : numpy.ndarray or None
        float64, per-beat wall-clock time (Unix ms, UTC) when the file gives
        one; may contain NaN for rows whose time could not be parsed.  For app
        exports this is usually the phone's *arrival* time of the BLE
        notification, not the R-peak time (see :attr:`notes`).
    hr_bpm : numpy.ndarray or None
        float64, per-beat heart rate (beats/min) when the file gives it.
    start_epoch_ms : float or None
        Recording start (Unix ms, UTC) when the file states it (e.g. the
        SelfLoops first line), else None.
    skipped_lines : int
        Lines that did not yield a beat (non-numeric, malformed, blank,
        non-positive or non-finite RR), counted, never silent.
    notes : tuple of str
        Human-readable remarks on how the file was interpreted.
    """

    format: str
    rr_ms: np.ndarray
    epoch_ms: np.ndarray | None
    hr_bpm: np.ndarray | None
    start_epoch_ms: float | None
    skipped_lines: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        """Number of beats (RR intervals)."""
        return int(self.rr_ms.shape[0])


def _fail(path: Path, why: str, listing: bool = True) -> RRFormatError:
    msg = f"{path}: not readable as RR intervals: {why}."
    if listing:
        formats = "; ".join(f"{k} ({v})" for k, v in FORMAT_DESCRIPTIONS.items())
        msg += f" Supported formats, in detection order: {formats}."
    return RRFormatError(msg)
