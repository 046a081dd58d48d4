"""The demo's simulated strap streams real chest motion (fixtures/motion) as PMD frames
through the real recorder: the walking half while the simulated person walks, the still
half otherwise."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import numpy as np
import pytest

from attune.db import db_connect
from attune.ingest.motion_store import acc_read
from attune.ingest.session import session_run
from attune.ingest.strap_sim import motion_fixture_load, strap_simulate, walks_every


def _record(db: Path, moving: bool, seconds: float = 2.5) -> tuple[np.ndarray, np.ndarray]:
    conn = db_connect(db)

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)

        async def source(queue: asyncio.Queue, stop_: asyncio.Event) -> None:
            await strap_simulate(queue, stop_, itertools.cycle([850.0, 870.0]), interval_s=0.25,
                                 moving=lambda now_s: moving)

        await session_run(conn, stop, source=source)

    asyncio.run(main())
    acc = acc_read(conn)
    assert acc.rate_hz == 25.0
    assert tuple(conn.execute("SELECT has_acc FROM device").fetchone()) == (1,)
    conn.close()
    return acc.epoch_ms, acc.xyz_mg


@pytest.mark.parametrize("moving", [False, True])
def test_demo_strap_sends_the_fixture_as_frames(tmp_path: Path, moving: bool) -> None:
    halves = motion_fixture_load()
    assert halves is not None
    t, xyz = _record(tmp_path / "a.sqlite", moving)
    assert len(xyz) >= 40  # ~2.5 s at 25 Hz
    expected = halves[1 if moving else 0][:len(xyz)]
    assert np.array_equal(xyz, expected)  # the real samples, byte for byte through PMD frames
    assert set(np.diff(t).tolist()) <= {39, 40, 41}  # 25 Hz on wall time
    resultant = np.linalg.norm(xyz.astype(float), axis=1)
    mad_mg = float(np.median(np.abs(resultant - np.median(resultant))))
    assert (mad_mg > 50) if moving else (mad_mg < 20)


def test_the_simulated_day_walks_a_few_minutes_every_twenty() -> None:
    moving = walks_every(1000.0)
    assert not moving(1000.0) and not moving(1000.0 + 239)
    assert moving(1000.0 + 240) and moving(1000.0 + 240 + 179)
    assert not moving(1000.0 + 240 + 180) and moving(1000.0 + 240 + 1200)
