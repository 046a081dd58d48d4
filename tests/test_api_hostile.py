"""The web app under hostile or careless use, against real server processes: revocation
ends open streams, bodies are capped before reading, X-Forwarded-For is not trusted and a
flood of wrong codes cannot lock the owner out, ``attune pair`` finds the running server,
labels can be renamed and deleted, and a database path with ``#`` still tails live."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from test_web_e2e import browser  # noqa: F401  (a fixture)

from attune.db import db_connect

PY = [sys.executable, "-m", "attune.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A private state folder (runtime files) for the processes of one test."""
    env = {k: v for k, v in os.environ.items() if k not in ("ATTUNE_DB", "ATTUNE_TRUSTED_PROXY")}
    env.update({"XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data"),
                "PYTHONUNBUFFERED": "1", **extra})
    return env


class Server:
    """``attune <command> …`` as a real process, until the test ends (SIGTERM, then wait)."""

    def __init__(self, args: list[str], port: int, env: dict[str, str]) -> None:
        self.port = port
        self.proc = subprocess.Popen(PY + args + ["--port", str(port)], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.proc.communicate()}")
            try:
                httpx.get(self.base + "/pair", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError("server did not start")

    def rss_kib(self) -> int:
        text = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1))  # type: ignore[union-attr]

    def stop(self) -> tuple[str, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        return out, err


@pytest.fixture
def servers():  # type: ignore[no-untyped-def]
    started: list[Server] = []

    def start(args: list[str], env: dict[str, str], port: int | None = None) -> Server:
        server = Server(args, port or _free_port(), env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _stored_db(path: Path, minutes: float = 10) -> Path:
    """A database with a little recorded and analysed data."""
    from attune.api.sample import sample_span_store

    path.parent.mkdir(parents=True, exist_ok=True)
    conn = db_connect(path)
    now_ms = int(time.time() * 1000)
    sample_span_store(conn, now_ms - 40 * 60_000, minutes * 60, seed=5, n_activations=0, n_exertions=0, n_gaps=0)
    conn.close()
    return path


class SseListener(threading.Thread):
    """A real SSE client: records (monotonic time, event) until the stream ends."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(daemon=True)
        self.url, self.headers = url, headers or {}
        self.events: list[tuple[float, str]] = []
        self.opened = threading.Event()
        self.ended_at: float | None = None
        self.status: int | None = None

    def run(self) -> None:
        try:
            with httpx.Client(timeout=httpx.Timeout(5, read=60)) as c, \
                    c.stream("GET", self.url, headers=self.headers) as r:
                self.status = r.status_code
                self.opened.set()
                for line in r.iter_lines():
                    if line.startswith("event:"):
                        self.events.append((time.monotonic(), line[6:].strip()))
        except httpx.HTTPError:
            pass
        finally:
            self.ended_at = time.monotonic()
            self.opened.set()

    def wait_events(self, n: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.events) < n and time.monotonic() < deadline and self.ended_at is None:
            time.sleep(0.05)
        assert len(self.events) >= n, (self.status, self.events)


# -- 1. revocation ends open streams ------------------------------------------------------------------
def test_revoke_in_another_process_ends_open_streams_at_once(servers, tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite"
    env = _env(tmp_path)
    server = servers(["demo", "--host", "0.0.0.0", "--db", str(db)], env)
    token = subprocess.run(PY + ["pair", "--token", "--db", str(db)], env=env, capture_output=True,
                           text=True, timeout=60, check=True).stdout.strip()
    auth = {"Authorization": f"Bearer {token}"}
    assert httpx.get(server.base + "/api/status", headers=auth).status_code == 200
    stream = SseListener(server.base + "/api/live", auth)
    stream.start()
    stream.wait_events(2)  # the simulated strap's beats arrive
    assert stream.status == 200

    out = subprocess.run(PY + ["pair", "--revoke", "--db", str(db)], env=env, capture_output=True,
                         text=True, timeout=60)
    revoked_at = time.monotonic()
    assert out.returncode == 0, out.stderr
    stream.join(timeout=10)
    assert stream.ended_at is not None, "the stream went on after the revocation"
    assert stream.ended_at - revoked_at < 3.0
    late = [e for t, e in stream.events if t > revoked_at + 1.5]
    assert late == []
    # and the token opens nothing any more, a new stream included
    assert httpx.get(server.base + "/api/status", headers=auth).status_code == 401
    assert httpx.get(server.base + "/api/live", headers=auth).status_code == 401


# -- 2. request bodies are capped before reading ----------------------------------------------------
def _chunked_post(port: int, path: str, total_bytes: int) -> tuple[bytes, int]:
    """POST a chunked body (no Content-Length) of up to ``total_bytes``, stopping as soon as
    the server answers; returns (response head, bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n".encode())
    chunk = b"x" * 65536
    framed = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    sent = 0
    answer = b""
    try:
        sock.sendall(b'7\r\n{"code"\r\n')
        while sent < total_bytes:
            if select.select([sock], [], [], 0)[0]:
                break
            sock.sendall(framed)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        sock.settimeout(10)
        while b"\r\n\r\n" not in answer:
            got = sock.recv(65536)
            if not got:
                break
            answer += got
    except (ConnectionResetError, TimeoutError):
        pass
    sock.close()
    return answer, sent


def test_huge_bodies_are_refused_before_they_fill_the_memory(servers, tmp_path: Path) -> None:
    db = _stored_db(tmp_path / "attune.sqlite")
    server = servers(["serve", "--host", "0.0.0.0", "--db", str(db)], _env(tmp_path))
    # declared too large: refused before a byte of it is read
    r = httpx.post(server.base + "/api/pair", content=b"{" + b" " * 300_000 + b"}",
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "too large" in r.json()["detail"]

    for _ in range(3):  # settle: the first requests allocate what any request needs
        httpx.post(server.base + "/api/pair", json={"code": "AAAAAAAAAA"})
    before_kib = server.rss_kib()
    answer, sent = _chunked_post(server.port, "/api/pair", 256 * 1024 * 1024)
    grown_kib = server.rss_kib() - before_kib
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 64 * 1024 * 1024, f"the server read {sent} bytes before answering"
    assert grown_kib < 8 * 1024, f"RSS grew by {grown_kib} KiB"
    # the limit is for every route, behind the login as well
    answer, _ = _chunked_post(server.port, "/api/moments", 8 * 1024 * 1024)
    assert answer.startswith(b"HTTP/1.1 413") or answer.startswith(b"HTTP/1.1 401"), answer[:200]
    # and ordinary small requests still work
    assert httpx.post(server.base + "/api/pair", json={"code": "AAAAAAAAAA"}).status_code == 400


# -- 6. a path is a path, never a URI by accident --------------------------------------------------
def test_serve_tails_a_database_whose_path_has_hash_and_question_marks(servers, tmp_path: Path) -> None:
    folder = tmp_path / "odd?dir%41"
    db = _stored_db(folder / "my#attune.sqlite", minutes=5)
    before = sorted(p.name for p in folder.iterdir())
    server = servers(["serve", "--db", str(db)], _env(tmp_path))
    stream = SseListener(server.base + "/api/live")
    stream.start()
    assert stream.opened.wait(10)
    time.sleep(1.5)  # the tailer has read where the data ends
    from attune.api.sample import sample_span_store

    conn = db_connect(db)
    now_ms = int(time.time() * 1000)
    sample_span_store(conn, now_ms - 20 * 60_000, 120, seed=6, n_activations=0, n_exertions=0, n_gaps=0)
    conn.close()
    deadline = time.monotonic() + 15
    while not any(e == "beats" for _, e in stream.events) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert any(e == "beats" for _, e in stream.events), stream.events
    after = sorted(p.name for p in folder.iterdir())
    assert set(after) - set(before) <= {"my#attune.sqlite-wal", "my#attune.sqlite-shm"}, after
    assert not (folder / "my").exists()


# -- 3. X-Forwarded-For, per-client and per-code limits ---------------------------------------------
def _new_code(db: Path, env: dict[str, str]) -> str:
    out = subprocess.run(PY + ["pair", "--db", str(db)], env=env, capture_output=True, text=True,
                         timeout=60, check=True)
    found = re.search(r"/pair#([0-9A-Z]{10})", out.stdout + out.stderr)
    assert found, out.stdout + out.stderr
    return found.group(1)


def _pair_from(address: str, base: str, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """POST /api/pair from ``address`` (any 127.x.y.z is this machine: distinct peers)."""
    with httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10) as c:
        return c.post(base + "/api/pair", json={"code": code}, headers=headers or {})


def test_x_forwarded_for_does_not_choose_the_client_unless_a_proxy_is_set(servers, tmp_path: Path) -> None:
    db = _stored_db(tmp_path / "attune.sqlite", minutes=2)
    server = servers(["serve", "--host", "0.0.0.0", "--db", str(db)], _env(tmp_path))
    for i in range(5):
        r = _pair_from("127.0.0.1", server.base, "AAAAAAAAAA", {"X-Forwarded-For": f"10.9.8.{i}"})
        assert r.status_code == 400
    # a sixth "client" named by the header is the same peer: limited
    r = _pair_from("127.0.0.1", server.base, "AAAAAAAAAA", {"X-Forwarded-For": "10.9.8.77"})
    assert r.status_code == 429

    # behind a configured proxy the header names the client
    proxied = servers(["serve", "--host", "0.0.0.0", "--db", str(db)],
                      _env(tmp_path, ATTUNE_TRUSTED_PROXY="127.0.0.1"))
    for i in range(5):
        r = _pair_from("127.0.0.1", proxied.base, "AAAAAAAAAA", {"X-Forwarded-For": f"10.9.8.{i}"})
        assert r.status_code == 400
    r = _pair_from("127.0.0.1", proxied.base, "AAAAAAAAAA", {"X-Forwarded-For": "10.9.8.77"})
    assert r.status_code == 400  # another client, by the proxy's word


def test_a_flood_of_wrong_codes_cannot_lock_the_owner_out(servers, tmp_path: Path) -> None:
    db = _stored_db(tmp_path / "attune.sqlite", minutes=2)
    env = _env(tmp_path)
    server = servers(["serve", "--host", "0.0.0.0", "--db", str(db)], env)
    # twelve peers, five wrong codes each: each peer is stopped, the flood goes on
    for n in range(2, 14):
        for _ in range(5):
            assert _pair_from(f"127.0.0.{n}", server.base, "AAAAAAAAAA").status_code == 400
        assert _pair_from(f"127.0.0.{n}", server.base, "AAAAAAAAAA").status_code == 429
    # the owner's new code, from the owner's phone, works at once
    r = _pair_from("127.0.0.1", server.base, _new_code(db, env))
    assert r.status_code == 200, r.text
    assert r.json()["paired"] is True


def test_a_code_dies_after_too_many_wrong_tries_and_a_new_one_works(servers, tmp_path: Path, browser) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from attune.api.auth import PAIRING_CODE_MAX_FAILS

    db = _stored_db(tmp_path / "attune.sqlite", minutes=2)
    env = _env(tmp_path)
    server = servers(["serve", "--host", "0.0.0.0", "--db", str(db)], env)
    code = _new_code(db, env)
    peers = iter(f"127.0.1.{n}" for n in range(1, 250))
    fails = 0
    while fails < PAIRING_CODE_MAX_FAILS:
        peer = next(peers)
        for _ in range(min(5, PAIRING_CODE_MAX_FAILS - fails)):
            assert _pair_from(peer, server.base, "BBBBBBBBBB").status_code == 400
            fails += 1
    # the owner opens the link on the phone: the page says to ask for a new code
    page = browser.new_page()
    page.goto(f"{server.base}/pair#{code}")
    expect(page.locator("#pair-status")).to_contain_text("Ask for a new code")
    expect(page.locator("#pair-error")).to_contain_text("too many wrong tries")
    r = _pair_from("127.0.0.1", server.base, code)
    assert r.status_code == 400  # dead for good
    assert _pair_from("127.0.0.1", server.base, _new_code(db, env)).status_code == 200


# -- 4. `attune pair` pairs with the server that is running --------------------------------------
def test_pair_without_db_pairs_with_the_running_demo(servers, tmp_path: Path) -> None:
    env = _env(tmp_path)
    port = _free_port()
    demo = servers(["demo", "--host", "0.0.0.0"], env, port=port)  # its own demo.sqlite
    state = tmp_path / "state" / "attune" / "servers"
    files = list(state.glob("*.json"))
    assert [f.name for f in files] == [f"{demo.proc.pid}.json"]
    assert files[0].stat().st_mode & 0o777 == 0o600
    assert state.stat().st_mode & 0o777 == 0o700
    info = json.loads(files[0].read_text())
    assert info["port"] == port and info["host"] == "0.0.0.0" and info["db"].endswith("demo.sqlite")

    out = subprocess.run(PY + ["pair"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    link = re.search(r"http://\S+:(\d+)/pair#([0-9A-Z]{10})", out.stdout + out.stderr)
    assert link, out.stderr
    assert int(link.group(1)) == port  # the running server's port, not the default 8765
    r = httpx.post(demo.base + "/api/pair", json={"code": link.group(2)})
    assert r.status_code == 200, r.text
    assert not (tmp_path / "data" / "attune" / "attune.sqlite").exists()  # no stray database

    # a second server on another database: `attune pair` cannot guess, and says which
    other_db = _stored_db(tmp_path / "other.sqlite", minutes=2)
    other = servers(["serve", "--db", str(other_db)], env)
    out = subprocess.run(PY + ["pair"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "--db" in out.stderr and str(demo.proc.pid) in out.stderr and str(other.proc.pid) in out.stderr
    assert "Traceback" not in out.stderr
    # with --db it pairs with that one, at that server's port
    out = subprocess.run(PY + ["pair", "--db", str(other_db)], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and f":{other.port}/pair#" in out.stdout + out.stderr

    # a stopped server removes its file; a killed one's file is ignored
    other.stop()
    assert not (state / f"{other.proc.pid}.json").exists()
    demo.proc.kill()
    demo.proc.wait()
    assert (state / f"{demo.proc.pid}.json").exists()
    out = subprocess.run(PY + ["pair", "--db", str(other_db)], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and ":8765/pair#" in out.stdout + out.stderr
    assert not (state / f"{demo.proc.pid}.json").exists()


# -- 5. labels: rename, delete, a cap; a moment's route never edits an episode's name -----------
@pytest.fixture(scope="module")
def day_copy_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from attune.api.sample import sample_db

    return sample_db(tmp_path_factory.mktemp("labels") / "attune.sqlite", hours=8,
                     end_ms=1_795_000_000_000)  # a fixed past span: independent of the clock


@pytest.fixture
def label_client(day_copy_source: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    import sqlite3

    from starlette.testclient import TestClient

    from attune.api.app import app_create

    copy = tmp_path / "copy.sqlite"
    src, dst = sqlite3.connect(day_copy_source), sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.close()
    with TestClient(app_create(copy), base_url="http://127.0.0.1:8765") as c:
        c.db_path = copy  # type: ignore[attr-defined]
        yield c


SPAN = {"from": "2026-11-17T00:00:00Z", "to": "2026-11-20T00:00:00Z"}


def test_the_moment_route_cannot_edit_or_delete_an_episode_name(label_client) -> None:  # type: ignore[no-untyped-def]
    episodes = label_client.get("/api/episodes", params=SPAN).json()["episodes"]
    assert episodes
    target = episodes[0]
    assert label_client.put(f"/api/episodes/{target['id']}/tag", json={"label": "waiting", "note": "mine"}).status_code == 200
    conn = db_connect(label_client.db_path)
    tag_id = conn.execute("SELECT id FROM tag WHERE origin='episode'").fetchone()[0]  # ids are guessable
    conn.close()
    r = label_client.put(f"/api/moments/{tag_id}", json={"label": "bracing", "note": "overwritten"})
    assert r.status_code == 409 and f"/api/episodes/{target['id']}/tag" in r.json()["detail"]
    assert label_client.delete(f"/api/moments/{tag_id}").status_code == 409
    again = {e["id"]: e for e in label_client.get("/api/episodes", params=SPAN).json()["episodes"]}
    assert again[target["id"]]["tag"]["label"] == "waiting" and again[target["id"]]["tag"]["note"] == "mine"
    # a real moment is still edited through its route
    m = label_client.post("/api/moments", json={"start": "2026-11-18T01:00:00Z", "end": "2026-11-18T01:05:00Z",
                                                "label": "waiting"}).json()
    assert label_client.put(f"/api/moments/{m['id']}", json={"label": "bracing"}).json()["label"] == "bracing"
    assert label_client.delete(f"/api/moments/{m['id']}").status_code == 204


def test_labels_can_be_renamed_merged_and_deleted_but_not_the_built_ins(label_client) -> None:  # type: ignore[no-untyped-def]
    def labels() -> dict[str, dict]:
        return {x["name"]: x for x in label_client.get("/api/labels").json()["labels"]}

    body = {"start": "2026-11-18T01:00:00Z", "end": "2026-11-18T01:05:00Z", "label": "waitng", "note": "typo"}
    moment = label_client.post("/api/moments", json=body).json()
    typo = labels()["waitng"]
    r = label_client.put(f"/api/labels/{typo['id']}", json={"name": "On Edge"})
    assert r.status_code == 200 and r.json()["name"] == "on edge" and r.json()["uses"] == 1
    listed = label_client.get("/api/episodes", params=SPAN).json()["moments"]
    assert [m["label"] for m in listed if m["id"] == moment["id"]] == ["on edge"]

    # renaming to an existing name merges: the moment keeps its note, the label goes
    r = label_client.put(f"/api/labels/{typo['id']}", json={"name": "Waiting"})
    assert r.status_code == 200 and r.json()["name"] == "waiting" and r.json()["builtin"] is True
    assert "on edge" not in labels()
    listed = label_client.get("/api/episodes", params=SPAN).json()["moments"]
    assert [(m["label"], m["note"]) for m in listed if m["id"] == moment["id"]] == [("waiting", "typo")]

    for name in ("waiting", "bracing"):
        builtin = labels()[name]
        assert label_client.put(f"/api/labels/{builtin['id']}", json={"name": "x"}).status_code == 409
        assert label_client.delete(f"/api/labels/{builtin['id']}").status_code == 409
    # a label in use is not deleted (no moment loses its name); an unused one is
    label_client.post("/api/moments", json={**body, "label": "tired"})
    tired = labels()["tired"]
    r = label_client.delete(f"/api/labels/{tired['id']}")
    assert r.status_code == 409 and "rename" in r.json()["detail"]
    label_client.post("/api/moments", json={**body, "label": "spare"})
    spare = labels()["spare"]
    spare_moment = [m for m in label_client.get("/api/episodes", params=SPAN).json()["moments"] if m["label"] == "spare"][0]
    label_client.put(f"/api/moments/{spare_moment['id']}", json={"label": "tired"})
    assert label_client.delete(f"/api/labels/{spare['id']}").status_code == 204
    assert label_client.delete(f"/api/labels/{spare['id']}").status_code == 404
    assert label_client.put("/api/labels/999999", json={"name": "x"}).status_code == 404
    assert label_client.put(f"/api/labels/{tired['id']}", json={"name": "<b>"}).status_code == 422


def test_the_number_of_own_labels_is_capped(label_client) -> None:  # type: ignore[no-untyped-def]
    from attune.api.tags import LABELS_MAX_OWN

    body = {"start": "2026-11-18T01:00:00Z", "end": "2026-11-18T01:05:00Z"}
    for i in range(LABELS_MAX_OWN):
        assert label_client.post("/api/moments", json={**body, "label": f"word {i}"}).status_code == 201
    r = label_client.post("/api/moments", json={**body, "label": "one too many"})
    assert r.status_code == 422 and str(LABELS_MAX_OWN) in r.json()["detail"]
    assert label_client.post("/api/moments", json={**body, "label": "word 3"}).status_code == 201  # existing: fine
    assert len(label_client.get("/api/labels").json()["labels"]) == LABELS_MAX_OWN + 2


def test_the_sheet_renames_and_deletes_own_labels_in_chromium(tmp_path: Path, browser) -> None:  # noqa: F811
    from playwright.sync_api import expect
    from test_web_e2e import PHONE
    from test_web_live import ServerThread

    db = tmp_path / "attune.sqlite"
    db_connect(db).close()
    with ServerThread(db) as base:
        body = {"start": "2026-11-18T01:00:00Z", "end": "2026-11-18T01:05:00Z"}
        httpx.post(base + "/api/moments", json={**body, "label": "waitng"}).raise_for_status()
        httpx.post(base + "/api/moments", json={**body, "label": "spare"}).raise_for_status()
        httpx.post(base + "/api/moments", json={**body, "label": "spare"}).raise_for_status()
        ids = {x["name"]: x["id"] for x in httpx.get(base + "/api/labels").json()["labels"]}
        # "spare" unused: its moments move to "waitng"
        for m in httpx.get(base + "/api/episodes", params={"from": "2026-11-17T00:00:00Z",
                                                          "to": "2026-11-19T00:00:00Z"}).json()["moments"]:
            if m["label"] == "spare":
                httpx.put(f"{base}/api/moments/{m['id']}", json={"label": "waitng"}).raise_for_status()

        page = browser.new_page(viewport=PHONE)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        answers = iter(["Waiting for him", None])
        page.on("dialog", lambda d: d.accept(next(answers) or "") if d.type == "prompt" else d.accept())
        page.goto(base + "/")
        page.click("#mark-moment")
        page.wait_for_selector("#sheet:not([hidden])")
        page.click("#manage-labels summary")
        expect(page.locator("#label-list li")).to_have_count(2)
        expect(page.locator(f"[data-delete='{ids['waitng']}']")).to_be_disabled()  # in use
        page.click(f"[data-rename='{ids['waitng']}']")
        expect(page.locator("#other-labels .choice[data-label='waiting for him']")).to_have_count(1)
        page.click(f"[data-delete='{ids['spare']}']")
        expect(page.locator("#label-list li")).to_have_count(1)
        names = {x["name"]: x["uses"] for x in httpx.get(base + "/api/labels").json()["labels"]}
        assert names == {"waiting": 0, "bracing": 0, "waiting for him": 3}
        assert errors == []
