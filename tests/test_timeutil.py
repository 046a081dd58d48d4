"""attune.timeutil and the demo day across a DST change, under the real zone rules
(each case runs in a subprocess with ``TZ`` set, so the C library's local time agrees)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def _run(code: str, tz: str = "Europe/Berlin", timeout_s: float = 300) -> dict:
    env = {**os.environ, "TZ": tz}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                         timeout=timeout_s)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_local_day_bounds_are_23_and_25_hours_on_dst_days() -> None:
    got = _run("""
        import json
        from attune.timeutil import iso_to_epoch_ms, local_day_bounds_ms
        out = {}
        for day in ("2026-03-29", "2026-10-25", "2026-10-26"):
            a, b = local_day_bounds_ms(iso_to_epoch_ms(day + "T12:00"))
            out[day] = [a, b, (b - a) / 3_600_000]
        print(json.dumps(out))
    """)
    assert got["2026-03-29"][2] == 23
    assert got["2026-10-25"][2] == 25
    assert got["2026-10-26"][2] == 24
    # midnight local, with each day's own offset
    assert got["2026-10-25"][0] == 1_792_879_200_000  # 2026-10-24T22:00Z = 00:00+02:00
    assert got["2026-10-25"][1] == 1_792_969_200_000  # 2026-10-25T23:00Z = 00:00+01:00


def test_iso_round_trip_keeps_each_instant_offset() -> None:
    got = _run("""
        import json
        from attune.timeutil import epoch_ms_to_iso, iso_to_epoch_ms, tz_offset_ms, local_tz
        a = iso_to_epoch_ms("2026-10-25T01:30")  # summer time still
        b = iso_to_epoch_ms("2026-10-25T12:00")  # winter time
        print(json.dumps({"a": epoch_ms_to_iso(a), "b": epoch_ms_to_iso(b),
                          "off": [tz_offset_ms(a, local_tz()), tz_offset_ms(b, local_tz())],
                          "z": iso_to_epoch_ms("2026-10-25T12:00:00+00:00")}))
    """)
    assert got["a"] == "2026-10-25T01:30:00.000+02:00"
    assert got["b"] == "2026-10-25T12:00:00.000+01:00"
    assert got["off"] == [7_200_000, 3_600_000]
    assert got["z"] == 1_792_929_600_000


def test_iso_to_epoch_ms_refuses_what_is_not_a_time() -> None:
    from attune.errors import UsageError
    from attune.timeutil import iso_to_epoch_ms

    with pytest.raises(UsageError, match="not an ISO 8601"):
        iso_to_epoch_ms("yesterday")


def test_demo_day_across_dst_is_placed_in_local_time(tmp_path: Path) -> None:
    """The demo started the morning after clocks went back (Berlin, 2026-10-25 10:00 CET):
    yesterday was summer time. Its stored analysis must be what ``attune analyze`` gives
    in the real zone — a fixed offset taken 'now' put yesterday's hours an hour early, so
    the baseline's time-of-day bins (and every score after) differed."""
    got = _run(f"""
        import json
        from attune.db import db_connect
        from attune.api.sample import sample_day_store
        from attune.signals.batch import analysis_store_span
        from attune.timeutil import epoch_ms_to_iso, iso_to_epoch_ms, local_tz

        conn = db_connect({str(tmp_path / "demo.sqlite")!r})
        now = iso_to_epoch_ms("2026-10-25T10:00")
        sample_day_store(conn, now_ms=now)
        dump = lambda: (conn.execute("SELECT * FROM baseline ORDER BY epoch_ms, tod_bin").fetchall(),
                        conn.execute("SELECT epoch_ms, state, score FROM tick ORDER BY epoch_ms").fetchall())
        demo = dump()
        segs = [r[0] for r in conn.execute("SELECT started_epoch_ms FROM segment ORDER BY started_epoch_ms")]
        first_beat = conn.execute("SELECT MIN(epoch_ms) FROM beat").fetchone()[0]
        spans = conn.execute("SELECT from_ms, to_ms FROM analysis_run ORDER BY id").fetchall()
        for a, b in spans:  # the same spans again, as `attune analyze` would, in the real zone
            analysis_store_span(conn, a, b, tz=local_tz())
        again = dump()
        print(json.dumps({{"first": epoch_ms_to_iso(first_beat), "spans": len(spans),
                          "same_baseline": [tuple(r) for r in demo[0]] == [tuple(r) for r in again[0]],
                          "same_ticks": [tuple(r) for r in demo[1]] == [tuple(r) for r in again[1]],
                          "n_baseline": len(demo[0])}}))
    """, timeout_s=600)
    assert got["first"].startswith("2026-10-24T07:00") and got["first"].endswith("+02:00")
    assert got["spans"] == 2 and got["n_baseline"] > 0
    assert got["same_baseline"]
    assert got["same_ticks"]
