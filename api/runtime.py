"""Which attune servers are running: a small file per server, so ``attune pair`` pairs with
the server that is actually up (``demo`` serves ``demo.sqlite``, ``run`` the user's
database, ``--db`` anything) instead of guessing a database.

Each server writes ``<user state dir>/servers/<pid>.json`` (pid, database, host, port;
mode 0600 in a 0700 folder) once it listens, and removes it when it stops. A file whose
process is gone (killed with SIGKILL) is ignored and cleaned up by the next reader.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from attune.config import APP_NAME, Settings
from attune.errors import AttuneError


@dataclass(frozen=True, slots=True)
class ServerInfo:
    pid: int
    db: Path
    host: str
    port: int
    certfile: Path | None = None  # serving HTTPS with this certificate (the key's path is not written)


def servers_dir() -> Path:
    """``<user state dir>/servers``, e.g. ~/.local/state/attune/servers on Linux."""
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)) / "servers"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive, just not ours to signal
        return True
    return True


@contextlib.contextmanager
def server_announced(db: Path, host: str, port: int, certfile: Path | None = None) -> Iterator[Path | None]:
    """Write this server's runtime file for the duration of the block (then remove it).

    Best effort: a state folder that cannot be written only costs ``attune pair`` its
    guess (it then needs ``--db``), never the server."""
    folder = servers_dir()
    path = folder / f"{os.getpid()}.json"
    info = {"pid": os.getpid(), "db": str(Path(db).resolve()), "host": host, "port": port,
            "certfile": str(Path(certfile).resolve()) if certfile else None}
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".server-", suffix=".tmp")  # created 0600
        with os.fdopen(fd, "w") as f:
            json.dump(info, f)
        os.replace(tmp, path)
    except OSError:
        yield None
        return
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


def servers_running() -> list[ServerInfo]:
    """The attune servers whose process is alive."""
    found: list[ServerInfo] = []
    try:
        entries = sorted(servers_dir().glob("*.json"))
    except OSError:
        return []
    for path in entries:
        try:
            raw = json.loads(path.read_text("utf-8"))
            info = ServerInfo(int(raw["pid"]), Path(raw["db"]), str(raw["host"]), int(raw["port"]),
                              Path(raw["certfile"]) if raw.get("certfile") else None)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if _pid_alive(info.pid):
            found.append(info)
        else:  # left behind by a killed server
            with contextlib.suppress(OSError):
                path.unlink()
    return found


def pair_target(s: Settings, *, db_given: bool) -> tuple[Settings, bool]:
    """The database (and address) ``attune pair`` works on, and whether a server serves it.

    Without ``--db``: the running server's (from its runtime file), whatever command
    started it; with several running, the one on ``$ATTUNE_DB``/the default database, else
    an error naming them. With ``--db``: that database, and a server's address if one
    serves it. ``--host``/``--port`` given on the command line always win."""
    running = servers_running()
    want = Path(s.db).resolve()
    chosen = [r for r in running if r.db == want]
    if not db_given and not chosen:
        chosen = running
    if len(chosen) > 1 and len({r.db for r in chosen}) > 1:
        listing = "; ".join(f"pid {r.pid}: {r.db} on {r.host}:{r.port}" for r in chosen)
        raise AttuneError(f"several attune servers are running ({listing}): say which with --db")
    if not chosen:
        return s, False
    server = chosen[0]
    fields = s.model_fields_set
    return s.model_copy(update={
        "db": server.db,
        "host": s.host if "host" in fields else server.host,
        "port": s.port if "port" in fields else server.port,
        "certfile": server.certfile,  # its link is https when the server is
    }), True
