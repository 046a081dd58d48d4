"""/api/status says whether the strap gives motion (issue 8): true, false, or null when it
was never asked (recorded before motion existed). Real recorder rows, real app."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from attune.api.app import app_create
from attune.db import db_connect
from attune.ingest.events import DeviceInfo, LinkEvent, LinkKind
from attune.ingest.recorder import Recorder

LOCAL = "http://127.0.0.1:8765"


@pytest.mark.parametrize(("has_acc", "has_rsc", "motion"), [
    (True, False, True), (False, True, True), (False, False, False), (None, None, None)])
def test_status_says_whether_the_strap_gives_motion(
    db_path: Path, has_acc: bool | None, has_rsc: bool | None, motion: bool | None
) -> None:
    conn = db_connect(db_path)
    rec = Recorder(conn)
    rec.handle(LinkEvent(LinkKind.CONNECTED, {"battery": 80},
                         DeviceInfo("C8:2E:11:0A:12:34", "Polar H10", has_acc=has_acc, has_rsc=has_rsc)))
    rec.commit()
    conn.close()
    with TestClient(app_create(db_path, bind_host="127.0.0.1"), base_url=LOCAL) as client:
        body = client.get("/api/status").json()
    assert body["motion"] is motion
    assert body["device"]["name"] == "Polar H10"


def test_status_without_a_strap_has_no_motion_answer(db_path: Path) -> None:
    db_connect(db_path).close()
    with TestClient(app_create(db_path, bind_host="127.0.0.1"), base_url=LOCAL) as client:
        assert client.get("/api/status").json()["motion"] is None
