"""Did it help? (issue 10 §2): the settling time of episodes followed by a breathing session
vs those that were not, on a real analysed database (96 h of simulated beats, real episodes),
with sessions stored by the one writer (api.breathing) and read back through /api/summary
and /api/week."""

from __future__ import annotations

import shutil
import statistics
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from attune.api.app import app_create
from attune.api.breathing import session_end, session_start
from attune.api.sample import sample_db
from attune.api.settling import FOLLOW_WINDOW_MS, MIN_EPISODES
from attune.db import db_connect
from attune.timeutil import datetime_to_epoch_ms

END = datetime(2026, 11, 20, 18, tzinfo=UTC)
MIN = 60_000


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_db(tmp_path_factory.mktemp("settle") / "a.sqlite", hours=96, end_ms=datetime_to_epoch_ms(END),
                     seed=4, tz=UTC)


@pytest.fixture
def db(sample: Path, tmp_path: Path) -> Path:
    path = tmp_path / "a.sqlite"
    shutil.copy(sample, path)  # each test its own copy: sessions added here stay here
    return path


@pytest.fixture
def client(db: Path) -> Iterator[TestClient]:
    with TestClient(app_create(db), base_url="http://127.0.0.1") as c:
        yield c


def _ms(iso: str) -> int:
    return datetime_to_epoch_ms(datetime.fromisoformat(iso))


def _settling_s(e: dict) -> float | None:
    """Onset → half recovery, from the episode as the API gives it."""
    if e["open"] or e["half_recovery_s"] is None:
        return None
    return (_ms(e["peak_at"]) - _ms(e["start"])) / 1000 + e["half_recovery_s"]


def _episodes(c: TestClient) -> list[dict]:
    got = c.get("/api/episodes", params={"from": (END - timedelta(days=5)).isoformat(), "to": END.isoformat()})
    return got.json()["episodes"]


def _apart(eps: list[dict]) -> list[dict]:
    """Episodes with a settling time and no other episode beginning within the 10-min window
    before or after them: a session placed after one of them is after that one only."""
    onsets = [_ms(e["start"]) for e in eps]
    return [e for e in eps if _settling_s(e) is not None
            and all(o == _ms(e["start"]) or abs(o - _ms(e["start"])) > FOLLOW_WINDOW_MS + 5 * MIN for o in onsets)]


def _breathe_after(db: Path, eps: list[dict], after_ms: int = MIN) -> None:
    conn = db_connect(db)
    try:
        for e in eps:
            s = session_start(conn, start_ms=_ms(e["start"]) + after_ms, episode_id=e["id"])
            session_end(conn, s.id, s.start_ms + 3 * MIN)
    finally:
        conn.close()


def _summary(c: TestClient) -> dict:
    return c.get("/api/summary", params={"from": (END - timedelta(days=1)).isoformat(), "to": END.isoformat(),
                                         "tz": "UTC"}).json()


def test_no_figure_while_a_group_is_too_small(db: Path, client: TestClient) -> None:
    eps = _episodes(client)
    chosen = _apart(eps)[: MIN_EPISODES - 1]
    _breathe_after(db, chosen)
    st = _summary(client)["settling"]
    assert st["comparable"] is False
    assert st["with_session"] == {"episodes": MIN_EPISODES - 1, "median_s": None}
    closed = [e for e in eps if _settling_s(e) is not None]
    assert st["without_session"]["episodes"] == len(closed) - (MIN_EPISODES - 1) >= MIN_EPISODES
    assert st["without_session"]["median_s"] is None  # no claim on either side
    assert st["min_episodes"] == MIN_EPISODES and st["window_s"] == FOLLOW_WINDOW_MS / 1000
    assert st["left_out"] == len(eps) - len(closed)


def test_medians_with_and_without_a_session(db: Path, client: TestClient) -> None:
    eps = _episodes(client)
    chosen = _apart(eps)[: MIN_EPISODES + 1]
    assert len(chosen) == MIN_EPISODES + 1
    _breathe_after(db, chosen, after_ms=4 * MIN)  # "breathe now" some minutes after onset
    st = _summary(client)["settling"]
    ids = {e["id"] for e in chosen}
    with_s = [_settling_s(e) for e in chosen]
    without_s = [_settling_s(e) for e in eps if e["id"] not in ids and _settling_s(e) is not None]
    assert st["comparable"] is True
    assert st["with_session"] == {"episodes": len(with_s), "median_s": pytest.approx(statistics.median(with_s), abs=0.11)}
    assert st["without_session"] == {"episodes": len(without_s),
                                     "median_s": pytest.approx(statistics.median(without_s), abs=0.11)}
    # settling is onset → half recovery, longer than the peak → half recovery stored per episode
    assert all(_settling_s(e) >= e["half_recovery_s"] for e in chosen)


def test_set_aside_and_breathing_already_are_left_out(db: Path, client: TestClient) -> None:
    eps = _episodes(client)
    apart = _apart(eps)
    chosen, aside, during = apart[: MIN_EPISODES + 1], apart[MIN_EPISODES + 1], apart[MIN_EPISODES + 2]
    _breathe_after(db, [*chosen, aside])
    assert client.put(f"/api/episodes/{aside['id']}/tag", json={"label": "i was moving"}).status_code == 200
    _breathe_after(db, [during], after_ms=-MIN)  # already breathing when it began: neither group
    st = _summary(client)["settling"]
    closed = [e for e in eps if _settling_s(e) is not None]
    assert st["with_session"]["episodes"] == len(chosen)  # the set-aside one counts nowhere
    assert st["without_session"]["episodes"] == len(closed) - len(chosen) - 2
    # "during" joins the episodes without a settling time; the set-aside one is not even that
    assert st["left_out"] == len(eps) - len(closed) + 1


def test_a_session_long_after_the_episode_does_not_follow_it(db: Path, client: TestClient) -> None:
    """"Try it next time" on a reviewed episode hours later: linked by id, but it cannot have
    helped that episode settle, so the episode stays in the "without" group."""
    eps = _episodes(client)
    before = _summary(client)["settling"]
    e = _apart(eps)[0]
    _breathe_after(db, [e], after_ms=FOLLOW_WINDOW_MS + MIN)
    after = _summary(client)["settling"]
    assert after["with_session"]["episodes"] == before["with_session"]["episodes"] == 0
    assert after["without_session"]["episodes"] == before["without_session"]["episodes"]


def test_the_week_counts_sessions_per_day_and_compares_over_the_week(db: Path, client: TestClient) -> None:
    eps = _episodes(client)
    chosen = _apart(eps)[: MIN_EPISODES]
    _breathe_after(db, chosen)
    w = client.get("/api/week", params={"end": "2026-11-20", "tz": "UTC"}).json()
    per_day: dict[str, int] = {}
    for e in chosen:
        day = datetime.fromtimestamp((_ms(e["start"]) + MIN) / 1000, UTC).date().isoformat()
        per_day[day] = per_day.get(day, 0) + 1
    got = {d["date"]: d["breathing_sessions"] for d in w["days"] if d["breathing_sessions"]}
    assert got == per_day
    assert w["breathing_sessions"] == len(chosen) and w["breathing_min"] == pytest.approx(3 * len(chosen), abs=0.2)
    for d in w["days"]:  # minutes in sessions of 3 min, unless one crosses midnight
        assert d["breathing_min"] == pytest.approx(3 * d["breathing_sessions"], abs=3.05)
    # the whole sample lies inside this week and the summary's four weeks: the same comparison
    s = _summary(client)
    assert {k: w["settling"][k] for k in ("with_session", "without_session", "comparable", "left_out")} == \
        {k: s["settling"][k] for k in ("with_session", "without_session", "comparable", "left_out")}
    assert w["settling"]["comparable"] is True
    assert s["breathing_sessions"] == sum(
        1 for e in chosen if _ms(e["start"]) + MIN >= datetime_to_epoch_ms(END - timedelta(days=1)))


def test_an_episode_whose_window_has_not_passed_is_in_neither_group(db: Path, client: TestClient) -> None:
    """Right after an episode, a session may still come: it is not counted "without" yet."""
    from attune.api.queries import episodes_and_moments
    from attune.api.settling import settling_compare

    eps = _episodes(client)
    last = max((e for e in eps if _settling_s(e) is not None), key=lambda e: _ms(e["start"]))
    a, b = datetime_to_epoch_ms(END - timedelta(days=5)), datetime_to_epoch_ms(END)
    conn = db_connect(db)
    try:
        found, _ = episodes_and_moments(conn, a, b)
        later = settling_compare(conn, a, b, found, at_ms=_ms(last["start"]) + FOLLOW_WINDOW_MS + MIN)
        now = settling_compare(conn, a, b, found, at_ms=_ms(last["start"]) + FOLLOW_WINDOW_MS // 2)
    finally:
        conn.close()
    assert now.without_session.episodes == later.without_session.episodes - 1
    assert now.left_out == later.left_out + 1
