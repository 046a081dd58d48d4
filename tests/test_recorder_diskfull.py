"""A recorder on a full disk: real SQLite file, real file-size limit (RLIMIT_FSIZE), in a
subprocess so the limit binds nothing else. Python ignores SIGXFSZ, so writes past the
limit fail with EFBIG and SQLite reports the disk full — as on a real full disk."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from attune.db import db_connect

SCRIPT = r'''
import json, logging, os, resource, sqlite3, sys, time
from attune.db import db_connect
from attune.ingest.events import LinkEvent, Notification
from attune.ingest.hrm import hrm_encode
from attune.ingest.recorder import Recorder

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
path = sys.argv[1]
conn = db_connect(path)
conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
rec = Recorder(conn, commit_interval_s=0.0, retry_base_s=0.01, retry_cap_s=0.02)
seen = []
rec.add_status_listener(lambda kind, value, ms: seen.append(kind))
rec.consume(LinkEvent("connected", {"battery": 90}))
reader = sqlite3.connect(path)
count = lambda: reader.execute("SELECT count(*) FROM beat").fetchone()[0]
# the database file may not grow at all; its WAL may grow to the file's size
size = os.path.getsize(path)
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
wall0, fed, t_ms = 1_763_700_000_000, 0, 0.0
def feed():
    global fed, t_ms
    t_ms += 2000
    rec.consume(Notification(int(t_ms * 1e6), int((wall0 + t_ms) * 1e6), hrm_encode(60, [1024, 1024], contact=True)))
    fed += 2
while rec.storage_error is None and fed < 200_000:
    feed()
committed_at_failure = count()
error = rec.storage_error
for _ in range(50):  # the disk stays full: these wait in memory
    feed()
time.sleep(0.05)
feed()  # due for a retry, which still fails
still_failing = rec.storage_error is not None
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # space is back
time.sleep(0.05)
feed()  # the next event triggers the retry, which now succeeds
rec.close_out()
ids = [r[0] for r in reader.execute("SELECT id FROM beat ORDER BY id")]
print(json.dumps({"error": error, "fed": fed, "committed_at_failure": committed_at_failure,
                  "still_failing": still_failing, "stored": count(), "recovered": rec.storage_error is None,
                  "ids_contiguous": ids == list(range(ids[0], ids[0] + len(ids))),
                  "failures": rec.stats.storage_failures, "dropped": rec.stats.dropped, "seen": seen}))
'''


def test_disk_full_is_told_retried_and_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "rec.sqlite"
    db_connect(db).close()
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(db)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["error"].startswith("cannot write") and ("full" in out["error"] or "I/O" in out["error"]), out
    assert out["committed_at_failure"] > 0
    assert out["still_failing"]
    assert out["failures"] >= 2  # the first failure, then at least one failed retry
    # everything fed is stored once the limit is lifted: the rolled-back transaction and
    # what waited in memory, with no duplicate and no gap
    assert out["recovered"]
    assert out["stored"] == out["fed"], out
    assert out["ids_contiguous"]
    assert out["dropped"] == 0
    assert out["seen"].count("storage_failed") == 1 and out["seen"].count("storage_resumed") == 1
    # one line at once for the failure, one when it recovers; no traceback
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and "not recording:" in errors[0], proc.stderr
    assert "recording again" in proc.stderr
    assert "Traceback" not in proc.stderr
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    kinds = [r[0] for r in conn.execute("SELECT kind FROM status_event ORDER BY id")]
    assert "storage_resumed" in kinds


ASYNC_SCRIPT = r'''
import asyncio, json, logging, os, resource, sqlite3, sys, time
from attune.db import db_connect
from attune.ingest.events import LinkEvent, Notification
from attune.ingest.hrm import hrm_encode
from attune.ingest.recorder import Recorder

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
path = sys.argv[1]
conn = db_connect(path)
conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
rec = Recorder(conn, commit_interval_s=0.0, retry_base_s=0.02, retry_cap_s=0.05)
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
wall0 = 1_763_700_000_000

async def main():
    queue = asyncio.Queue()
    task = asyncio.create_task(rec.run(queue))
    fed, t_ms, held_max = 0, 0.0, 0
    def feed():
        nonlocal fed, t_ms
        t_ms += 1000
        queue.put_nowait(Notification(int(t_ms * 1e6), int((wall0 + t_ms) * 1e6), hrm_encode(60, [1024], contact=True)))
        fed += 1
    queue.put_nowait(LinkEvent("connected", {}))
    resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(path), hard))
    while rec.storage_error is None and fed < 100_000:
        feed()
        await asyncio.sleep(0)
    for _ in range(3000):  # a burst while the disk is full: held, in order
        feed()
        await asyncio.sleep(0)
    held_max = len(rec._pending)
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
    deadline = time.monotonic() + 30
    while (rec.storage_error is not None or rec._pending or not queue.empty()) and time.monotonic() < deadline:
        feed()  # beats keep arriving while the backlog is written
        await asyncio.sleep(0.001)
    queue.put_nowait(None)
    await task
    return fed, held_max

fed, held_max = asyncio.run(main())
reader = sqlite3.connect(path)
rows = reader.execute("SELECT epoch_ms FROM beat ORDER BY id").fetchall()
times = [r[0] for r in rows]
print(json.dumps({"fed": fed, "stored": len(rows), "held_max": held_max, "in_order": times == sorted(times),
                  "unique": len(set(times)) == len(times), "error": rec.storage_error}))
'''


def test_recorder_loop_recovers_in_order_while_beats_keep_coming(tmp_path: Path) -> None:
    db = tmp_path / "rec.sqlite"
    db_connect(db).close()
    proc = subprocess.run([sys.executable, "-c", ASYNC_SCRIPT, str(db)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["held_max"] >= 1000, out  # the burst did wait in memory
    assert out["error"] is None
    assert out["stored"] == out["fed"] and out["in_order"] and out["unique"], out
    assert "Traceback" not in proc.stderr
