"""``attune analyze``: re-analyse a file or the stored beats.

    attune analyze FILE [--motion ACC.csv] [--input-format F] [--format json|csv] [--episodes] [-o OUT] [--tz ZONE]
    attune analyze [--db [PATH]] [--from ISO] [--to ISO] [--format json|csv] ...

With a FILE the recording is analysed on its own (its quiet stretches form the baseline)
and nothing is stored. Without one, the database (``--db PATH``, else ``$ATTUNE_DB`` or
the default location) is analysed and the results for the span replace what was stored,
so ``attune import`` + ``attune analyze`` leaves a fully analysed day for the web app;
accelerometer samples stored for the span (by a strap or an imported ACC file) are used.
``--motion`` gives a FILE its accelerometer, on the same wall clock as the beats: any
file the ACC importer reads, or at least a CSV ``epoch_ms,x_mg,y_mg,z_mg`` (mg including
gravity, 12.5-200 Hz).
The span is half-open, ``[--from, --to)``, as in ``attune export`` and the API.

Only light modules are imported at module level: this module is loaded to build the
parser, so ``attune --help`` must not pay for numpy, pandas or rich.progress.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from attune.ingest.format_ids import FORMATS

if TYPE_CHECKING:
    from rich.console import Console

PROGRESS_MIN_BEATS = 20_000  # show a progress bar from about 5 h of beats on


def add_analyze_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``analyze`` subcommand; its handler is ``args.func(args)``."""
    p = subparsers.add_parser(
        "analyze",
        help="re-analyse a file or the stored beats: ticks, states, activation episodes",
        description="Analyse an RR file on its own (nothing stored), or the database: "
                    "results for the span replace earlier ones.",
    )
    p.add_argument("file", nargs="?", type=Path, metavar="FILE", help="RR file (any format attune import reads)")
    p.add_argument("--db", type=Path, metavar="PATH",
                   help="database to analyse (default: $ATTUNE_DB or the user data directory)")
    p.add_argument("--from", dest="from_", metavar="ISO", help="start of the span (database; local time unless zoned)")
    p.add_argument("--to", metavar="ISO", help="end of the span, exclusive (database)")
    p.add_argument("--format", choices=("json", "csv"), default="json", help="output format (default json)")
    p.add_argument("--episodes", action="store_true", help="csv: write the episodes instead of the ticks")
    p.add_argument("--motion", type=Path, metavar="ACC.csv",
                   help="FILE's accelerometer: CSV epoch_ms,x_mg,y_mg,z_mg on the beats' wall clock")
    p.add_argument("--input-format", choices=FORMATS, metavar="FORMAT",
                   help=f"FILE's format, skipping detection: {', '.join(FORMATS)}")
    # the old spelling, kept working but no longer shown
    p.add_argument("--file-format", choices=FORMATS, dest="input_format", help=argparse.SUPPRESS)
    p.add_argument("--tz", metavar="ZONE", help="time zone for time-of-day baselines and zone-less file times")
    p.add_argument("-o", "--output", type=Path, help="write here instead of standard output")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_analyze)
    return p


def acc_csv_read(path: Path):
    """Read a generic accelerometer CSV ``epoch_ms,x_mg,y_mg,z_mg`` (header required, mg
    including gravity, 12.5-200 Hz) as :class:`~attune.ingest.events.AccSamples`, sorted,
    duplicate times dropped. Raises :class:`~attune.errors.UsageError` with one line."""
    import numpy as np

    from attune.errors import UsageError
    from attune.ingest.events import AccSamples
    from attune.signals.motion import nominal_rate_hz

    try:
        with open(path, encoding="utf-8-sig") as f:
            header = [c.strip().lower() for c in f.readline().split(",")]
            if header != ["epoch_ms", "x_mg", "y_mg", "z_mg"]:
                raise UsageError(f"{path}: not an accelerometer CSV (want the header epoch_ms,x_mg,y_mg,z_mg)")
            data = np.loadtxt(f, delimiter=",", ndmin=2)
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"{path}: not numeric ({str(exc).splitlines()[0]})") from None
    if data.shape[0] < 2 or data.shape[1] != 4 or not np.isfinite(data).all():
        raise UsageError(f"{path}: no accelerometer samples (want rows epoch_ms,x_mg,y_mg,z_mg)")
    data = data[np.argsort(data[:, 0], kind="stable")]
    t = np.rint(data[:, 0]).astype(np.int64)
    keep = np.r_[True, np.diff(t) > 0]
    t, xyz = t[keep], data[keep, 1:]
    rate = nominal_rate_hz(t)
    if not 12.0 <= rate <= 201.0:
        raise UsageError(f"{path}: sample rate {rate:.1f} Hz is outside 12.5-200 Hz")
    return AccSamples(t, np.clip(np.rint(xyz), -32768, 32767).astype(np.int16), rate)


def motion_file_read(path: Path, tz=None):
    """The accelerometer file given with ``--motion``: read by the ACC importer's reader
    (``attune.ingest.formats.acc``, every format ``attune import`` takes) where that exists,
    else as the generic CSV (:func:`acc_csv_read`). Raises
    :class:`~attune.errors.UsageError` with one line."""
    try:
        from attune.ingest.formats.acc import acc_file_read  # type: ignore[import-not-found]
    except ImportError:
        return acc_csv_read(path)
    from attune.errors import UsageError
    from attune.ingest.events import AccSamples
    from attune.ingest.formats import RRFormatError

    try:
        series = acc_file_read(path, tz=tz)
    except RRFormatError as exc:
        raise UsageError(str(exc)) from None
    return AccSamples(series.epoch_ms, series.xyz_mg, series.rate_hz)


@contextmanager
def _progress_bar(console: Console, enabled: bool):
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("analysing"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,} beats"),
                  TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task("analyse", total=1)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def cmd_analyze(args: argparse.Namespace) -> int:
    """Handler of ``attune analyze`` (returns the exit status)."""
    # imported here so that `attune --help` stays fast
    import json

    from rich.console import Console

    from attune.ingest.formats import RRFormatError
    from attune.signals.batch import (
        AnalysisResult,
        analysis_beats,
        analysis_episodes_csv,
        analysis_pending_finish,
        analysis_store_span,
        analysis_ticks_csv,
        analysis_to_dict,
        beats_from_file,
    )
    from attune.timeutil import iso_to_epoch_ms, local_tz

    console = Console(stderr=True)
    tz = None
    if args.tz:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            tz = ZoneInfo(args.tz)
        except (ZoneInfoNotFoundError, ValueError):
            console.print(f"[red]error:[/red] unknown time zone {args.tz!r}")
            return 2
    show = not args.quiet and console.is_terminal
    if args.motion is not None and args.file is None:
        console.print("[red]error:[/red] --motion goes with a FILE (the database's stored motion is used anyway)")
        return 2
    if args.file is not None:
        if args.db is not None or args.from_ or args.to:
            console.print("[red]error:[/red] give a FILE or --db/--from/--to, not both")
            return 2
        motion = motion_file_read(args.motion, tz) if args.motion is not None else None  # UsageError: one line
        try:
            beats = beats_from_file(args.file, args.input_format, tz)  # read once
            if motion is not None and not beats.wall_time:
                console.print(f"[red]error:[/red] {args.file} carries no time: its beats cannot be aligned "
                              "with --motion")
                return 2
            with _progress_bar(console, show and beats.epoch_ms.size >= PROGRESS_MIN_BEATS) as update:
                result = analysis_beats(beats, tz=tz, progress=update, motion=motion)
        except RRFormatError as exc:  # its message names the file
            console.print(f"[red]error:[/red] {exc}")
            return 1
        except (OSError, ValueError) as exc:
            console.print(f"[red]error:[/red] {args.file}: {exc}")
            return 1
        for note in beats.notes:
            console.print(f"note: {note}")
        t0, wall = (int(beats.epoch_ms[0]) if len(beats.epoch_ms) else 0), beats.wall_time
    else:
        from attune.config import settings_load
        from attune.db import db_connect
        from attune.ingest.store import beats_count
        from attune.signals.storage import beats_span

        db = settings_load(db=args.db).db
        from_ms = iso_to_epoch_ms(args.from_) if args.from_ else None
        to_ms = iso_to_epoch_ms(args.to) if args.to else None
        if from_ms is not None and to_ms is not None and to_ms <= from_ms:  # before touching the database
            console.print("[red]error:[/red] --to must be after --from (the span is [--from, --to))")
            return 2
        conn = db_connect(db, create=False)  # reads only: a mistyped path creates nothing
        try:
            analysis_pending_finish(conn, lambda line: console.print(line, highlight=False, soft_wrap=True), tz=tz)
            span = beats_span(conn)
            if span is None:
                console.print(f"[yellow]no beats stored in {db}[/yellow]")
                result = None
            else:
                lo = span[0] if from_ms is None else max(span[0], from_ms)
                hi = span[1] + 1 if to_ms is None else min(span[1] + 1, to_ms)  # exclusive
                n = beats_count(conn, lo, hi)
                with _progress_bar(console, show and n >= PROGRESS_MIN_BEATS) as update:
                    result = analysis_store_span(conn, from_ms, to_ms, tz=tz or local_tz(), progress=update)
        finally:
            conn.close()
        if result is None:
            result = AnalysisResult()
        t0, wall = result.first_beat_ms or 0, True
        console.print(f"stored {len(result.ticks)} ticks and {len(result.episodes)} episodes in {db}")
    with ExitStack() as stack:
        out = stack.enter_context(open(args.output, "w", encoding="utf-8", newline="")) if args.output else sys.stdout
        if args.format == "json":
            # one string, one write: json.dump streams ~20 small writes per tick (1 s for 24 h)
            out.write(json.dumps(analysis_to_dict(result, t0, wall), separators=(",", ":")) + "\n")
        elif args.episodes:
            analysis_episodes_csv(result, out, t0)
        else:
            analysis_ticks_csv(result, out, t0, wall)
    return 0

