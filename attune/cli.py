"""The ``attune`` command line: one entry point, one subcommand per job."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from attune import __version__, defaults
from attune.db import db_connect, db_writer_lock, ticks_replaced_listen
from attune.errors import AttuneError
from attune.shutdown import stop_signals_install
from attune.timeutil import epoch_ms_to_iso, iso_to_epoch_ms

if TYPE_CHECKING:

    from attune.config import Settings

console = Console(stderr=True, soft_wrap=True)
log = logging.getLogger("attune")


def _settings(args: argparse.Namespace) -> Settings:
    from attune.config import settings_load  # pydantic: not for --help

    return settings_load(
        db=getattr(args, "db", None),
        device=getattr(args, "device", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        acc_rate_hz=getattr(args, "acc_rate", None),
    )


# -- scan ---------------------------------------------------------------------------------
def cmd_scan(args: argparse.Namespace) -> int:
    import asyncio

    from attune.ingest.collector import straps_scan

    timeout_s = args.timeout if args.timeout is not None else _settings(args).scan_timeout_s
    straps = asyncio.run(straps_scan(timeout_s))
    if not straps:
        console.print(f"No heart rate straps found in {timeout_s:g} s. Is the strap worn (moist electrodes) and not connected to another app?")
        return 1
    table = Table("address", "name", "RSSI (dBm)")
    for s in straps:
        table.add_row(s.address, s.name or "—", "—" if s.rssi is None else str(s.rssi))
    Console().print(table)
    return 0


# -- record -------------------------------------------------------------------------------
def cmd_record(args: argparse.Namespace) -> int:
    import asyncio

    from attune.ingest.session import session_run

    settings = _settings(args)
    lock = db_writer_lock(settings.db, "attune record")
    conn = db_connect(settings.db)

    async def main() -> int:
        stop = asyncio.Event()
        stop_signals_install(stop)
        if args.duration:
            asyncio.get_running_loop().call_later(args.duration, stop.set)
        console.print(f"Recording to {settings.db} — Ctrl-C to stop.")
        recorder = await session_run(
            conn, stop, device=settings.device, watchdog_s=settings.watchdog_s,
            backoff_cap_s=settings.backoff_cap_s, scan_timeout_s=settings.scan_timeout_s,
            acc_rate_hz=settings.acc_rate_hz,
        )
        st = recorder.stats
        errors = sum(st.parse_errors.values())
        console.print(
            f"Stopped: {st.packets} notifications, {st.beats} beats in {st.segments} segments, "
            f"{errors} malformed notifications skipped."
            + (f" Motion: {st.acc_samples} accelerometer samples, {st.cadence_samples} cadence readings, "
               f"{sum(st.motion_errors.values())} malformed motion notifications kept."
               if st.motion_packets else "")
            + (f" {st.dropped} notifications could not be stored." if st.dropped else "")
        )
        return 0

    try:
        return asyncio.run(main())
    finally:
        conn.close()
        lock.release()


# -- import / export --------------------------------------------------------------------------
def cmd_import(args: argparse.Namespace) -> int:
    from attune.ingest.exchange import ImportRefused, epoch_ms_check, rr_import
    from attune.ingest.format_ids import ACC_FORMATS
    from attune.ingest.formats import RRFormatError
    from attune.ingest.formats.acc import acc_file_sniff
    from attune.signals.batch import analysis_import_hook, analysis_pending_finish

    settings = _settings(args)
    start = iso_to_epoch_ms(args.start) if args.start else None
    if start is not None:
        epoch_ms_check(start, "--start")  # before the database is touched
    conn = db_connect(settings.db)
    status = 0
    try:
        analysis_pending_finish(conn, lambda line: console.print(line, highlight=False))
        for path in args.files:
            if args.format in ACC_FORMATS or (args.format is None and acc_file_sniff(path)):
                status = max(status, _acc_import_one(conn, path, args))
                continue
            try:
                result = rr_import(conn, path, format=args.format, start_epoch_ms=start,
                                   replace=getattr(args, "replace", False))
            except (RRFormatError, ImportRefused, OSError) as exc:
                console.print(f"[red]✗[/red] {path}: {exc}", highlight=False)
                status = 1
                continue
            console.print(
                f"[green]✓[/green] {path}: {result.beats} beats ({result.format}), "
                f"{epoch_ms_to_iso(result.first_beat_ms)} → {epoch_ms_to_iso(result.last_beat_ms)}"
                + (f", {result.skipped_lines} lines skipped" if result.skipped_lines else "")
            )
            for note in result.notes:
                console.print(f"  note: {note}")
            # analyse what was imported, so the timeline shows it right away (a kill here
            # leaves the span analysis_pending: the next import / analyze --db finishes it)
            analysis = analysis_import_hook(conn, result)
            console.print(f"  analysed: {len(analysis.ticks)} ticks, {len(analysis.episodes)} episodes")
    finally:
        conn.close()
    return status


def _acc_import_one(conn: sqlite3.Connection, path: Path, args: argparse.Namespace) -> int:
    """Import one accelerometer file and analyse the beats it lines up with; 0, or 1 if refused."""
    from attune.ingest.exchange import ImportRefused, acc_import
    from attune.ingest.formats import RRFormatError
    from attune.signals.batch import analysis_store_span

    try:
        r = acc_import(conn, path, format=args.format, replace=getattr(args, "replace", False))
    except (RRFormatError, ImportRefused, OSError) as exc:
        console.print(f"[red]✗[/red] {path}: {exc}", highlight=False)
        return 1
    console.print(
        f"[green]✓[/green] {path}: {r.samples} accelerometer samples at {r.rate_hz:.3g} Hz ({r.format}), "
        f"{epoch_ms_to_iso(r.first_ms)} → {epoch_ms_to_iso(r.last_ms)}"
        + (f", {r.skipped_lines} lines skipped" if r.skipped_lines else ""), highlight=False)
    for note in r.notes:
        console.print(f"  note: {note}", highlight=False)
    if args.start:
        console.print("  note: --start does not apply to accelerometer files: they carry their own wall time")
    if r.pending_id is None:
        console.print("  no beats stored over this span yet: it is analysed with this motion once they are")
        return 0
    # a kill here leaves the span analysis_pending: the next import / analyze --db finishes it
    analysis = analysis_store_span(conn, r.first_ms, r.last_ms + 1, pending_done=(r.pending_id,))
    console.print(f"  analysed {r.beats_in_span} beats with it: {len(analysis.ticks)} ticks, "
                  f"{len(analysis.episodes)} episodes")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from attune.ingest.exchange import beats_export

    settings = _settings(args)
    conn = db_connect(settings.db, create=False)  # reads only: a mistyped path creates nothing
    try:
        from_ms = iso_to_epoch_ms(args.from_) if args.from_ else None
        to_ms = iso_to_epoch_ms(args.to) if args.to else None
        if args.table == "sessions":  # paced-breathing sessions (issue 10), written by the web app
            from attune.api.breathing import sessions_export as export_rows
            if args.format == "rr":  # before any output file is created
                raise AttuneError("breathing sessions export as csv or json, not rr")
            what = "breathing sessions"
        else:
            export_rows, what = beats_export, "beats"
        if args.output:
            with open(args.output, "w", encoding="utf-8", newline="") as out:
                n = export_rows(conn, out, args.format, from_ms, to_ms)
        else:
            n = export_rows(conn, sys.stdout, args.format, from_ms, to_ms)
        console.print(f"{n} {what} exported.")
    finally:
        conn.close()
    return 0


# -- parser ------------------------------------------------------------------------------------
class _DeprecatedFlag(argparse.Action):
    """An old spelling that still works, with a note naming the new one."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        console.print(f"note: {option_string} is now spelled --input-format", highlight=False)
        setattr(namespace, self.dest, values)


def parser_build() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="attune",
        description="Wearable regulation monitor: record a BLE heart-rate strap, see activation, name it.",
    )
    parser.add_argument("--version", action="version", version=f"attune {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db_help = "SQLite database (default: $ATTUNE_DB or the user data directory)"

    p = sub.add_parser("scan", help="list nearby heart rate straps (BLE service 0x180D)")
    p.add_argument("--timeout", type=float, metavar="S",
                   help=f"scan time in seconds (default: $ATTUNE_SCAN_TIMEOUT_S, else {defaults.SCAN_TIMEOUT_S:g})")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("record", help="record every beat from a strap until Ctrl-C")
    p.add_argument("--device", metavar="ADDRESS_OR_NAME", help="strap to use (default: first HR strap found)")
    p.add_argument("--db", type=Path, help=db_help)
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("--acc-rate", type=int, metavar="HZ", help=defaults.ACC_RATE_HELP)
    p.set_defaults(func=cmd_record)

    from attune.ingest.format_ids import ACC_FORMATS, FORMATS  # ids only: no pandas for --help

    p = sub.add_parser("import", help="import RR files (Kubios/Elite HRV, HRV Logger, Polar Sensor Logger, SelfLoops, CSV)"
                       " and accelerometer files (Polar Sensor Logger ACC, epoch_ms,x_mg,y_mg,z_mg CSV)")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--db", type=Path, help=db_help)
    # --input-format as in `analyze`; --format is the output format everywhere else
    p.add_argument("--input-format", dest="format", choices=FORMATS + ACC_FORMATS, metavar="FORMAT",
                   help=f"the files' format, skipping detection: {', '.join(FORMATS + ACC_FORMATS)}")
    p.add_argument("--format", dest="format", choices=FORMATS + ACC_FORMATS, action=_DeprecatedFlag,
                   help=argparse.SUPPRESS)
    p.add_argument("--start", metavar="ISO", help="recording start for files without times (local time unless a zone is given)")
    p.add_argument("--replace", action="store_true",
                   help="replace stored beats (and analysis), or for an accelerometer file stored motion, in the span")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="export beats as csv, json or rr (one RR in ms per line), or breathing sessions")
    p.add_argument("--db", type=Path, help=db_help)
    p.add_argument("--from", dest="from_", metavar="ISO", help="start of the span (inclusive)")
    p.add_argument("--to", metavar="ISO", help="end of the span, exclusive")
    p.add_argument("--format", choices=("csv", "json", "rr"), required=True)
    p.add_argument("--table", choices=("beats", "sessions"), default="beats",
                   help="beats (default), or paced-breathing sessions (csv or json)")
    p.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    p.set_defaults(func=cmd_export)

    from attune.api.cli import add_parsers as api_add_parsers
    from attune.signals.cli import add_analyze_parser

    add_analyze_parser(sub)
    api_add_parsers(sub)
    return parser


def logging_setup(verbosity: int) -> None:
    level = logging.WARNING - 10 * min(verbosity, 2)
    logging.basicConfig(
        level=level, format="%(message)s", datefmt="[%X]",
        handlers=[RichHandler(console=console, show_path=False)],
    )
    logging.getLogger("attune").setLevel(min(level, logging.INFO))
    logging.getLogger("attune.db").setLevel(level)  # "applying migration …" only with -v


# Commands that hold nothing open once they return may skip the interpreter's teardown,
# which costs ~0.15 s once numpy and pandas are loaded (mypy's hard exit does the same).
HARD_EXIT_COMMANDS = frozenset({"analyze", "export"})


def entry() -> None:
    """The ``attune`` console script: :func:`main`, then exit (at once where safe)."""
    sys.exit(main(hard_exit=True))


def _exit_now(status: int) -> None:
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe: nothing more to say anyway
            stream.flush()
    os._exit(status)


def _breathing_sessions_refresh(conn: sqlite3.Connection, from_ms: int, to_ms: int) -> None:
    """A re-analysis rewrote ticks: breathing sessions' figures follow (imported only then:
    ``analyze`` and ``import`` never load the web app)."""
    from attune.api.breathing import sessions_refresh

    sessions_refresh(conn, from_ms, to_ms)


def main(argv: Sequence[str] | None = None, *, hard_exit: bool = False) -> int:
    """Run one ``attune`` command; returns its exit status. ``hard_exit``: leave the
    process straight after a command of :data:`HARD_EXIT_COMMANDS` (the console script)."""
    ticks_replaced_listen("breathing_session", _breathing_sessions_refresh)
    parser = parser_build()
    args = parser.parse_args(argv)
    logging_setup(args.verbose)
    status = _command_run(args)
    if hard_exit and args.command in HARD_EXIT_COMMANDS:
        _exit_now(status)
    return status


def _command_run(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args) or 0)
    except AttuneError as exc:
        log.debug("details", exc_info=True)
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except sqlite3.Error as exc:  # the database failed under us (damaged page, disk full …)
        from attune.db import db_error_explain

        log.debug("details", exc_info=True)
        where = getattr(args, "db", None) or "the database"
        console.print(f"[red]error:[/red] {where}: {db_error_explain(exc)}", highlight=False)
        return 2
    except Exception as exc:  # a bug: one line for the user, the traceback with -v
        if args.verbose:
            raise
        console.print(f"[red]error:[/red] unexpected {type(exc).__name__}: {exc} (run `attune -v {args.command} …` "
                      "for the traceback, and please report it)", highlight=False)
        return 70  # EX_SOFTWARE


if __name__ == "__main__":
    sys.exit(main())
