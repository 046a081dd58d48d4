"""Labels and tags: normalisation, and how tags find their episodes by time."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from attune.api.app import app_create
from attune.api.tags import (
    LABEL_MAX_CHARS,
    Tag,
    TagError,
    label_normalise,
    note_clean,
    tags_for_episodes,
)

MIN = 60_000


def _tag(tag_id: int, start_min: float, end_min: float, origin: str = "episode") -> Tag:
    return Tag(tag_id, origin, int(start_min * MIN), int(end_min * MIN), "waiting", None, 0)


@pytest.mark.parametrize(("raw", "expected"), [
    ("Waiting", "waiting"), ("  BRACING ", "bracing"), ("on  the\tphone", "on the phone"),
    ("Müde", "müde"), ("ex's text", "ex's text"), ("call/no-call", "call/no-call"),
])
def test_labels_are_case_normalised(raw: str, expected: str) -> None:
    assert label_normalise(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "x" * (LABEL_MAX_CHARS + 1), "<script>", "a;b", "tab\x00"])
def test_bad_labels_are_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(TagError) as err:
        label_normalise(raw)
    assert str(err.value)


def test_notes_lose_control_characters_and_are_limited() -> None:
    assert note_clean("  felt it\x07 in my chest\n ") == "felt it in my chest"
    assert note_clean("   ") is None
    with pytest.raises(TagError):
        note_clean("x" * 1001)


def test_tag_follows_an_episode_whose_edges_moved() -> None:
    tag = _tag(1, 600, 615)  # named on an episode 10:00–10:15
    # re-analysis: the episode now starts 2 min earlier and ends 3 min later, new id
    attached, loose = tags_for_episodes([(7, 598 * MIN, 618 * MIN), (8, 700 * MIN, 710 * MIN)], [tag])
    assert attached == {7: tag} and loose == []


def test_split_episode_keeps_the_name_on_both_halves() -> None:
    tag = _tag(1, 600, 630)
    attached, loose = tags_for_episodes([(1, 600 * MIN, 612 * MIN), (2, 616 * MIN, 630 * MIN)], [tag])
    assert attached == {1: tag, 2: tag} and loose == []


def test_tag_whose_episode_vanished_becomes_a_moment() -> None:
    gone = _tag(1, 600, 615)
    barely = _tag(2, 700, 720)  # overlaps the new episode by 2 of 20 min: not the same event
    attached, loose = tags_for_episodes([(3, 718 * MIN, 740 * MIN)], [gone, barely])
    assert attached == {} and loose == [gone, barely]


def test_user_moments_never_capture_an_episode() -> None:
    moment = _tag(1, 600, 615, origin="moment")
    attached, loose = tags_for_episodes([(1, 600 * MIN, 615 * MIN)], [moment])
    assert attached == {} and loose == [moment]


def test_the_best_overlap_wins_when_two_tags_meet_one_episode() -> None:
    small, big = _tag(1, 600, 604), _tag(2, 604, 630)
    attached, loose = tags_for_episodes([(9, 600 * MIN, 630 * MIN)], [small, big])
    assert attached == {9: big} and loose == [small]


# -- moments and labels over HTTP ---------------------------------------------------------------
@pytest.fixture
def client(db_path: Path):
    with TestClient(app_create(db_path), base_url="http://127.0.0.1:8765") as c:
        yield c


def test_moments_create_list_rename_delete(client: TestClient) -> None:
    body = {"start": "2026-11-20T21:00:00+01:00", "end": "2026-11-20T21:20:00+01:00",
            "label": "  Reading His Message ", "note": "before the call"}
    r = client.post("/api/moments", json=body)
    assert r.status_code == 201, r.text
    moment = r.json()
    assert moment["label"] == "reading his message" and moment["origin"] == "moment"
    assert moment["start"].endswith("Z") or "+" in moment["start"]

    labels = client.get("/api/labels").json()["labels"]
    assert [(x["name"], x["builtin"]) for x in labels[:2]] == [("bracing", True), ("waiting", True)]  # built-ins first
    mine = [x for x in labels if not x["builtin"]]
    assert [{k: v for k, v in x.items() if k != "id"} for x in mine] == [
        {"name": "reading his message", "builtin": False, "uses": 1}]

    got = client.get("/api/episodes", params={"from": "2026-11-20T00:00:00+01:00", "to": "2026-11-21T00:00:00+01:00"}).json()
    assert [m["id"] for m in got["moments"]] == [moment["id"]]
    assert got["moments"][0]["note"] == "before the call"

    r = client.put(f"/api/moments/{moment['id']}", json={"label": "BRACING", "note": None})
    assert r.status_code == 200 and r.json()["label"] == "bracing" and r.json()["note"] is None
    assert client.delete(f"/api/moments/{moment['id']}").status_code == 204
    assert client.delete(f"/api/moments/{moment['id']}").status_code == 404
    got = client.get("/api/episodes", params={"from": "2026-11-20T00:00:00+01:00", "to": "2026-11-21T00:00:00+01:00"}).json()
    assert got["moments"] == []


@pytest.mark.parametrize(("body", "words"), [
    ({"start": "2026-11-20T21:00:00", "end": "2026-11-20T21:20:00+01:00", "label": "waiting"}, "zone"),
    ({"start": "2026-11-20T21:20:00Z", "end": "2026-11-20T21:00:00Z", "label": "waiting"}, "end after"),
    ({"start": "2026-11-20T21:00:00Z", "end": "2026-11-20T21:20:00Z", "label": "<b>"}, "letters"),
    ({"start": "2026-11-20T21:00:00Z", "end": "2026-11-20T21:20:00Z", "label": "x" * 40}, "at most"),
    ({"start": "2026-11-20T21:00:00Z", "end": "2026-11-20T21:20:00Z"}, "label"),
    ({"start": "2026-11-20T21:00:00Z", "end": "2026-11-20T21:20:00Z", "label": "a", "extra": 1}, "extra"),
])
def test_bad_moments_get_a_clear_4xx(client: TestClient, body: dict, words: str) -> None:
    r = client.post("/api/moments", json=body)
    assert r.status_code == 422
    assert words in r.json()["detail"].lower()


def test_unknown_episode_is_404(client: TestClient) -> None:
    r = client.put("/api/episodes/999999/tag", json={"label": "waiting"})
    assert r.status_code == 404 and "no episode" in r.json()["detail"]
    assert client.delete("/api/episodes/999999/tag").status_code == 404
