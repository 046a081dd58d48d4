"""RR and accelerometer file format ids and their one-line descriptions.

Kept apart from :mod:`attune.ingest.formats` (which imports numpy and pandas) so that
the command line can offer them as choices without loading those libraries:
``attune --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: Format ids in detection order (also the valid values of ``format=``).
FORMATS: tuple[str, ...] = (
    "selfloops",
    "polar-sensor-logger",
    "hrv-logger",
    "csv-rr_ms",
    "physionet-rr-secs",
    "rr-lines",
    "time-hr",
    "time-rr",
)

#: One-line human description of each format id, for messages and ``--help``.
FORMAT_DESCRIPTIONS: Mapping[str, str] = MappingProxyType({
    "selfloops": "SelfLoops export: start-time line, then 'Time (ms),HR (bpm),R-R (ms)'",
    "polar-sensor-logger": "Polar Sensor Logger RR file: 'Phone timestamp;RR-interval [ms]'",
    "hrv-logger": "HRV Logger / FatMaxxer RR CSV: 'timestamp,rr,since_start' or 'date,rr,since start'",
    "csv-rr_ms": "delimited table (, ; tab) whose header names an RR column (rr_ms, rr, RR, ibi, nni_ms ...)",
    "physionet-rr-secs": "PhysioNet ann2rr seconds on the 1/128 s grid; first value = offset from record start",
    "rr-lines": "one RR per line in ms or seconds (Kubios / Elite HRV); header and blank lines skipped",
    "time-hr": "two columns, no header: time (s) and the beat's heart rate (bpm), e.g. PhysioNet meditation",
    "time-rr": "two columns, no header: time (s or Unix) and RR (ms), e.g. a host log of a Polar strap",
})

#: Accelerometer file formats (``attune import`` tells them from RR files by their header).
ACC_FORMATS: tuple[str, ...] = (
    "polar-sensor-logger-acc",
    "csv-acc",
)

ACC_FORMAT_DESCRIPTIONS: Mapping[str, str] = MappingProxyType({
    "polar-sensor-logger-acc": "Polar Sensor Logger ACC file: 'Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]'",
    "csv-acc": "delimited table (, ; tab) 'epoch_ms,x_mg,y_mg,z_mg' (a Unix or ISO time column and x, y, z in mg or g)",
})
