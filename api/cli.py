"""``attune run``, ``serve``, ``demo`` and ``pair``: registered by :func:`add_parsers`."""

from __future__ import annotations

import argparse
from pathlib import Path

from attune.defaults import ACC_RATE_HELP

# attune.config (pydantic) and platformdirs are imported inside the handlers: building
# the parser must stay cheap, `attune --help` loads this module

DB_HELP = "SQLite database (default: $ATTUNE_DB or the user data directory)"


def demo_db_default() -> Path:
    """``<user data dir>/demo.sqlite``: the demo never touches real recordings."""
    import platformdirs

    from attune.config import APP_NAME

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "demo.sqlite"


def _web_args(p: argparse.ArgumentParser,
              host_help: str = "address to listen on (default 127.0.0.1; any other needs pairing)") -> None:
    p.add_argument("--host", metavar="H", help=host_help)
    p.add_argument("--port", type=int, metavar="P", help="port (default 8765)")
    p.add_argument("--notify", metavar="URL", help="Apprise URL (ntfy://, pover://, tgram://, mailto://, json:// …) for a "
                   "message on each new episode while no page is open (default $ATTUNE_NOTIFY_URL)")
    p.add_argument("--certfile", type=Path, metavar="PEM", help="serve over HTTPS with this certificate (e.g. from mkcert "
                   "or your VPN; with --keyfile)")
    p.add_argument("--keyfile", type=Path, metavar="PEM", help="the certificate's private key")


def cmd_run(args: argparse.Namespace) -> int:
    from attune.api.runner import run
    from attune.config import settings_load

    s = settings_load(db=args.db, device=args.device, host=args.host, port=args.port, acc_rate_hz=args.acc_rate,
                      notify_url=args.notify, certfile=args.certfile, keyfile=args.keyfile)
    return run(s)


def cmd_serve(args: argparse.Namespace) -> int:
    from attune.api.runner import serve
    from attune.config import settings_load

    s = settings_load(db=args.db, host=args.host, port=args.port, notify_url=args.notify,
                      certfile=args.certfile, keyfile=args.keyfile)
    return serve(s)


def cmd_demo(args: argparse.Namespace) -> int:
    from attune.api.runner import demo
    from attune.config import settings_load

    # ATTUNE_DB is for real recordings; the demo only uses --db or its own file
    s = settings_load(db=args.db or demo_db_default(), host=args.host, port=args.port, notify_url=args.notify,
                      certfile=args.certfile, keyfile=args.keyfile)
    return demo(s, keep=args.keep)


def cmd_pair(args: argparse.Namespace) -> int:
    from attune.api.runner import pair
    from attune.config import settings_load

    s = settings_load(db=args.db, host=args.host, port=args.port)
    # without --db: the database of the attune server that is running, whichever command
    return pair(s, revoke=args.revoke, token=args.token, db_given=args.db is not None)


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="record the strap and serve the phone page (the everyday command)")
    p.add_argument("--device", metavar="ADDRESS_OR_NAME", help="strap to use (default: first HR strap found)")
    p.add_argument("--db", type=Path, help=DB_HELP)
    p.add_argument("--acc-rate", type=int, metavar="HZ", help=ACC_RATE_HELP)
    _web_args(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("serve", help="serve the phone page over stored recordings (no strap)")
    p.add_argument("--db", type=Path, help=DB_HELP)
    _web_args(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="the whole product with a simulated strap and a sample day")
    p.add_argument("--db", type=Path, help="demo database (default: demo.sqlite in the user data directory, fresh each run)")
    p.add_argument("--keep", action="store_true", help="keep the demo database from the last run instead of starting fresh")
    _web_args(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("pair", help="show a one-time link and QR code to pair a phone")
    p.add_argument("--db", type=Path, help="database to pair with (default: the one the running attune "
                   "run/serve/demo serves, else $ATTUNE_DB or the user data directory)")
    p.add_argument("--host", metavar="H", help="address the phone should use, put in the link (default: the running server's)")
    p.add_argument("--port", type=int, metavar="P", help="port in the link (default: the running server's, else 8765)")
    p.add_argument("--revoke", action="store_true", help="unpair every phone and script instead")
    p.add_argument("--token", action="store_true", help="print a bearer token for scripts instead of a link")
    p.set_defaults(func=cmd_pair)
