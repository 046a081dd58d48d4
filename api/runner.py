"""The long-running commands: ``attune run``, ``serve``, ``demo`` (and ``pair``).

``run`` and ``demo`` put the collector (or the simulated strap), the recorder, the live
signal pipeline and the web server in one asyncio loop: the recorder stores each packet's
beats and calls its listeners synchronously; the pipeline turns them into ticks, states
and episodes; :func:`recorder_live` and the pipeline hook publish all of it through
:mod:`attune.api.wire` to the :class:`~attune.api.live.LiveHub`, which SSE clients read.
SIGINT/SIGTERM set one stop event: the source disconnects, the recorder drains and
commits, the server closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from rich.console import Console

from attune.api import pipeline
from attune.api.app import app_create
from attune.api.live import LiveHub
from attune.api.notify import Notifier, notifier_create
from attune.api.runtime import server_announced
from attune.api.wire import wire_publish
from attune.config import Settings
from attune.db import db_connect, db_writer_lock
from attune.errors import AttuneError, UsageError
from attune.ingest.events import StatusEvent
from attune.ingest.recorder import Recorder
from attune.shutdown import stop_signals_install

log = logging.getLogger(__name__)
console = Console(stderr=True, soft_wrap=True)  # an error stays one line


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: our stop event decides when to leave."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def,override]
        yield


def recorder_live(conn: sqlite3.Connection, live: LiveHub, **kwargs: Any) -> Recorder:
    """A recorder that also announces link life (connected, battery, contact…) and beats."""
    recorder = Recorder(conn, **kwargs)
    recorder.add_status_listener(
        lambda kind, value, epoch_ms: wire_publish(live, [StatusEvent(epoch_ms, kind, value)]))
    recorder.add_listener(lambda beats: wire_publish(live, [beats]))
    return recorder


async def web_serve(app: Any, host: str, port: int, stop: asyncio.Event,
                    started: Callable[[], None] | None = None, *,
                    certfile: Path | None = None, keyfile: Path | None = None) -> None:
    """Serve ``app`` until ``stop`` is set (over HTTPS with ``certfile``/``keyfile``); raise
    OSError when the port cannot be bound."""
    proxy = Settings().trusted_proxy  # X-Forwarded-For only from a configured proxy
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            lifespan="on", timeout_graceful_shutdown=3, ws="none",
                            proxy_headers=bool(proxy), forwarded_allow_ips=proxy or None,
                            ssl_certfile=str(certfile) if certfile else None,
                            ssl_keyfile=str(keyfile) if keyfile else None)
    server = _Server(config)
    # the runtime file (`attune pair` finds this server and its database) is written before
    # the port opens, so whoever reaches the server can already find it
    with server_announced(app.state.ctx.db.path, host, port, certfile):
        task = asyncio.create_task(server.serve(), name="web")
        while not server.started:
            if task.done():
                with contextlib.suppress(SystemExit):
                    task.result()  # uvicorn exits with status 1 when it cannot bind
                raise OSError(f"could not listen on {host}:{port} (in use, or not an address of this machine?)")
            await asyncio.sleep(0.05)
        if started is not None:
            started()
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        app.state.ctx.live.close()  # end SSE streams so the server can close promptly
        waiter.cancel()
        with contextlib.suppress(SystemExit, asyncio.CancelledError):
            await task


class PortUnavailable(AttuneError):
    """The web app cannot listen where it was asked to."""


def port_check(host: str, port: int) -> None:
    """Bind and release ``host:port`` (as uvicorn will, SO_REUSEADDR) before anything else
    happens, so a busy port or a foreign address stops a command before it touches data."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortUnavailable(f"cannot listen on {host}: unknown address ({exc.strerror})") from None
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortUnavailable(f"port {port} on {host} is in use (another attune?): stop it, "
                                      "or choose another with --port") from None
            if exc.errno == errno.EADDRNOTAVAIL:
                raise PortUnavailable(f"cannot listen on {host}: not an address of this computer (use "
                                      "127.0.0.1, 0.0.0.0 for the home network, or one of its addresses)") from None
            raise PortUnavailable(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None


def url_for(host: str, port: int, *, for_phone: bool = False, tls: bool = False) -> str:
    """The URL of a server bound to ``host`` (``https`` with ``tls``). A wildcard bind (0.0.0.0,
    ::) is shown as 127.0.0.1 for this computer's browser, or ``for_phone`` as this machine's LAN address."""
    shown = host
    if host in ("0.0.0.0", "::", ""):
        shown = (lan_address() if for_phone else None) or "127.0.0.1"
    if ":" in shown:
        shown = f"[{shown}]"
    return f"{'https' if tls else 'http'}://{shown}:{port}/"


def tls_check(s: Settings) -> bool:
    """Whether to serve over HTTPS: both ``certfile`` and ``keyfile`` given and usable (checked
    here, before anything is recorded: one line for what is wrong), or neither."""
    if not s.certfile and not s.keyfile:
        return False
    if not (s.certfile and s.keyfile):
        raise UsageError("HTTPS needs both --certfile and --keyfile (or ATTUNE_CERTFILE and ATTUNE_KEYFILE)")
    import ssl

    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(s.certfile, s.keyfile)
    except FileNotFoundError as exc:
        raise UsageError(f"cannot serve HTTPS: {exc.filename}: no such file") from None
    except (ssl.SSLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"cannot serve HTTPS with {s.certfile} and {s.keyfile}: {reason} "
                         "(a PEM certificate and its private key, unencrypted)") from None
    return True


def lan_address() -> str | None:
    """This machine's address on the local network: asks the routing table only
    (a UDP socket's connect sends nothing)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # TEST-NET-1: never contacted, just routed
        addr = s.getsockname()[0]
        return None if addr.startswith("127.") else addr
    return None


def _qr_print(url: str) -> None:
    import segno

    qr = segno.make(url, error="m")
    qr.terminal(out=sys.stderr, compact=True, border=2)


def _announce(url: str, *, paired: bool) -> None:
    console.print(f"attune is at [bold]{url}[/bold]")
    if paired:
        console.print("Listening beyond this computer: phones need pairing — run `attune pair` "
                      "in another terminal.")
    else:  # no QR code: a phone cannot reach this computer's loopback address
        console.print("Only this computer can open it. To use a phone on your home network, start "
                      "with --host 0.0.0.0 and run `attune pair`.")


async def _live_session(
    s: Settings, conn: sqlite3.Connection, stop: asyncio.Event, *, source: Any = None, source_name: str = "ble",
    duration_s: float | None = None, notifier: Notifier | None = None, breather: Any = None,
) -> int:
    from attune.ingest.session import session_run

    live = LiveHub()
    recorder = recorder_live(conn, live, source=source_name)
    analysis = pipeline.live_attach(conn, recorder, live)
    app = app_create(s.db, mode="live", bind_host=s.host, live=live, watchdog_s=s.watchdog_s, notifier=notifier)
    app.state.ctx.recorder = recorder
    app.state.breather = breather  # the demo: its simulated person breathes with a session's pacer
    tls = bool(s.certfile)
    url = url_for(s.host, s.port, tls=tls)
    listening = asyncio.Event()

    def started() -> None:
        _announce(url, paired=app.state.ctx.policy.paired)
        listening.set()

    web = asyncio.create_task(web_serve(app, s.host, s.port, stop, started, certfile=s.certfile, keyfile=s.keyfile))
    # record only once the page can be served: a port in use stops us before any data
    ready = asyncio.create_task(listening.wait())
    await asyncio.wait([web, ready], return_when=asyncio.FIRST_COMPLETED)
    if web.done():
        ready.cancel()
        try:
            web.result()
        except OSError as exc:
            console.print(f"[red]error:[/red] {exc}")
        return 2
    if duration_s:
        asyncio.get_running_loop().call_later(duration_s, stop.set)
    record = asyncio.create_task(session_run(
        conn, stop, source=source, recorder=recorder, device=s.device, watchdog_s=s.watchdog_s,
        backoff_cap_s=s.backoff_cap_s, acc_rate_hz=s.acc_rate_hz))
    await asyncio.wait([web, record], return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    status = 0
    for task in (record, web):
        try:
            await task
        except (OSError, AttuneError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            status = 2
    try:
        analysis.close()  # the last ticks, and an episode still open is ended
    except sqlite3.Error as exc:  # storage failing at the end (disk full): say so, still summarise
        from attune.db import db_error_explain

        console.print(f"[red]error:[/red] the last ticks could not be stored: {db_error_explain(exc)}")
        status = 2
    st = recorder.stats
    lost = f" {st.dropped} notifications could not be stored." if st.dropped else ""
    console.print(f"Stopped: {st.beats} beats recorded in {st.segments} segments.{lost}")
    return status


def analysis_pending_say(conn: sqlite3.Connection) -> None:
    """Finish analyses an interrupted import or demo left pending, one line each."""
    from attune.signals.batch import analysis_pending_finish

    analysis_pending_finish(conn, lambda line: console.print(line, highlight=False, soft_wrap=True))


def run(s: Settings) -> int:
    port_check(s.host, s.port)
    notifier = notifier_create(s, url_for(s.host, s.port, for_phone=True, tls=tls_check(s)))
    lock = db_writer_lock(s.db, "attune run")
    conn = db_connect(s.db)
    analysis_pending_say(conn)

    async def main() -> int:
        stop = asyncio.Event()
        stop_signals_install(stop)
        console.print(f"Recording to {s.db} — Ctrl-C to stop.")
        return await _live_session(s, conn, stop, notifier=notifier)

    try:
        return asyncio.run(main())
    finally:
        conn.close()
        lock.release()


def serve(s: Settings) -> int:
    port_check(s.host, s.port)
    notifier = notifier_create(s, url_for(s.host, s.port, for_phone=True, tls=tls_check(s)))
    conn = db_connect(s.db, create=False)  # reads only: a mistyped path creates nothing
    try:
        analysis_pending_say(conn)
    finally:
        conn.close()
    app = app_create(s.db, mode="stored", bind_host=s.host, watchdog_s=s.watchdog_s,
                     notifier=notifier)

    async def main() -> int:
        stop = asyncio.Event()
        stop_signals_install(stop)
        url = url_for(s.host, s.port, tls=bool(s.certfile))
        try:
            await web_serve(app, s.host, s.port, stop, lambda: _announce(url, paired=app.state.ctx.policy.paired),
                            certfile=s.certfile, keyfile=s.keyfile)
        except OSError as exc:
            console.print(f"[red]error:[/red] {exc}")
            return 2
        return 0

    return asyncio.run(main())


def _db_remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


def demo(s: Settings, *, keep: bool = False) -> int:
    from attune.api.breathing import DEMO_PERSON, DemoBreather, rr_breathing
    from attune.api.sample import live_rr_stream, sample_day_store
    from attune.ingest.strap_sim import strap_simulate

    port_check(s.host, s.port)
    notifier = notifier_create(s, url_for(s.host, s.port, for_phone=True, tls=tls_check(s)))
    lock = db_writer_lock(s.db, "attune demo")  # never delete a database being recorded into
    if not keep:
        _db_remove(Path(s.db))
    conn = db_connect(s.db)
    try:
        t0 = time.perf_counter()
        analysis_pending_say(conn)  # a sample day whose analysis was interrupted
        if conn.execute("SELECT count(*) FROM beat").fetchone()[0] == 0:
            n = sample_day_store(conn)
            console.print(f"Sample day ready: {n} beats analysed in {time.perf_counter() - t0:.1f} s.")

        async def main() -> int:
            stop = asyncio.Event()
            stop_signals_install(stop)
            breather = DemoBreather()  # paced by the session routes while a breathing session runs
            rr = rr_breathing(live_rr_stream(), breather, DEMO_PERSON)  # resonance at 5.5/min

            async def source(queue: asyncio.Queue[Any], stop_: asyncio.Event) -> None:
                await strap_simulate(queue, stop_, rr)

            console.print(f"Demo with a simulated strap (database {s.db}) — Ctrl-C to stop.")
            return await _live_session(s, conn, stop, source=source, source_name="demo",
                                       duration_s=s.demo_duration_s, notifier=notifier, breather=breather)

        return asyncio.run(main())
    finally:
        conn.close()
        lock.release()


def pair(s: Settings, *, revoke: bool = False, token: bool = False, db_given: bool = True) -> int:
    from attune.api.auth import (
        host_is_loopback,
        pairing_code_create,
        pairing_code_format,
        token_issue,
        tokens_revoke_all,
    )
    from attune.api.runtime import pair_target

    s, serving = pair_target(s, db_given=db_given)
    conn = db_connect(s.db, create=False)  # pairs with an existing database; creates nothing
    try:
        if revoke:
            n = tokens_revoke_all(conn)
            console.print(f"Unpaired {n} phone{'s' if n != 1 else ''} and scripts. Pair again with `attune pair`.")
            return 0
        if token:
            # printed on stdout only, for a script to capture; never logged
            print(token_issue(conn, "bearer", "attune pair --token"))
            console.print("Bearer token for scripts: send it as `Authorization: Bearer <token>`.")
            return 0
        code = pairing_code_create(conn)
    finally:
        conn.close()
    host = s.host if not host_is_loopback(s.host) else "0.0.0.0"
    tls = s.certfile is not None
    url = f"{url_for(host, s.port, for_phone=True, tls=tls)}pair#{code}"
    console.print("Scan this with the phone's camera (same Wi-Fi as this computer):")
    _qr_print(url)
    console.print(f"or open [bold]{url}[/bold]")
    console.print(f"or type the code [bold]{pairing_code_format(code)}[/bold] at {url_for(host, s.port, for_phone=True, tls=tls)}pair")
    if serving and host_is_loopback(s.host):
        console.print(f"[yellow]The running attune (database {s.db}) listens on {s.host} only:[/yellow] "
                      "restart it with --host 0.0.0.0 for a phone to reach it.")
    elif not serving:
        console.print(f"No attune server is running (code stored in {s.db}). Start `attune run --host 0.0.0.0` "
                      "(or serve/demo) for the phone to reach it.")
    console.print("The code works once, for ten minutes.")
    return 0
