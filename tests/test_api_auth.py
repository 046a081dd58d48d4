"""Who may talk to the app: loopback without login, anything else only after pairing."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from starlette.testclient import TestClient

from attune.api.app import STATIC_DIR, app_create
from attune.api.auth import (
    PUBLIC_PATHS,
    SESSION_COOKIE,
    host_is_loopback,
    pairing_code_create,
    pairing_code_normalise,
    tokens_revoke_all,
)
from attune.db import db_connect

LAN = "http://192.168.1.20:8765"
LOCAL = "http://127.0.0.1:8765"


@pytest.fixture
def lan_app(db_path: Path):
    app = app_create(db_path, bind_host="0.0.0.0")
    with TestClient(app, base_url=LAN) as client:
        yield app, client


def _code(db_path: Path, **kwargs: float) -> str:
    conn = db_connect(db_path)
    try:
        return pairing_code_create(conn, **kwargs)
    finally:
        conn.close()


def _routes(app):
    """Every route, through FastAPI's included routers."""
    for route in app.routes:
        inner = getattr(route, "original_router", None)
        yield from (inner.routes if inner is not None else [route])


def _concrete(path: str) -> str:
    return path.replace("{episode_id}", "1").replace("{moment_id}", "1")


def test_loopback_detection() -> None:
    assert host_is_loopback("127.0.0.1") and host_is_loopback("::1") and host_is_loopback("localhost")
    assert host_is_loopback("[::1]") and host_is_loopback("127.3.4.5")
    assert not host_is_loopback("0.0.0.0") and not host_is_loopback("192.168.1.20")
    assert not host_is_loopback("::") and not host_is_loopback("attune.local")


def test_local_mode_needs_no_login_but_a_loopback_host(db_path: Path) -> None:
    app = app_create(db_path, bind_host="127.0.0.1")
    with TestClient(app, base_url=LOCAL) as client:
        assert client.get("/api/status").status_code == 200
        # DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host
        r = client.get("/api/status", headers={"Host": "evil.example:8765"})
        assert r.status_code == 421
        assert "localhost" in r.json()["detail"]
    with TestClient(app, base_url="http://localhost:8765") as client:
        assert client.get("/api/labels").status_code == 200


def test_every_route_refuses_unauthenticated_requests_in_lan_mode(lan_app) -> None:
    app, client = lan_app
    checked = 0
    for route in _routes(app):
        if not isinstance(route, APIRoute) or route.path in PUBLIC_PATHS:
            continue
        for method in route.methods - {"HEAD"}:
            r = client.request(method, _concrete(route.path), json={"label": "waiting"})
            assert r.status_code == 401, (method, route.path, r.status_code)
            assert "attune pair" in r.text
            checked += 1
    documented = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    assert checked >= len(documented) - 1 >= 11  # all routes but the exchange were tried
    for path in ("/", "/static/main.js", "/openapi.json"):
        assert client.get(path).status_code == 401, path
    # the pairing page and exchange stay reachable, or nobody could ever pair
    assert client.get("/pair").status_code == 200
    assert client.post("/api/pair", json={"code": "WRONGCODE1"}).status_code == 400


def test_pairing_gives_an_httponly_strict_cookie_once(lan_app, db_path: Path) -> None:
    _, client = lan_app
    code = _code(db_path)
    r = client.post("/api/pair", json={"code": code[:5] + "-" + code[5:].lower()})
    assert r.status_code == 200, r.text
    assert r.json() == {"paired": True, "token": None}
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert client.get("/api/status").status_code == 200
    assert client.get("/").status_code == 200

    other = TestClient(client.app, base_url=LAN)
    assert other.post("/api/pair", json={"code": code}).status_code == 400  # used up


def test_expired_code_is_refused(lan_app, db_path: Path) -> None:
    _, client = lan_app
    code = _code(db_path, ttl_s=-1)
    assert client.post("/api/pair", json={"code": code}).status_code == 400
    assert client.get("/api/status").status_code == 401


def test_bearer_token_for_scripts_is_stored_hashed_and_revocable(lan_app, db_path: Path) -> None:
    _, client = lan_app
    code = _code(db_path)
    r = client.post("/api/pair", json={"code": code, "want_token": True})
    token = r.json()["token"]
    assert token and len(token) >= 40
    script = TestClient(client.app, base_url=LAN)
    assert script.get("/api/status", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert script.get("/api/status", headers={"Authorization": f"Bearer {token}x"}).status_code == 401

    conn = sqlite3.connect(db_path)
    dump = "\n".join(conn.iterdump())
    conn.close()
    assert token not in dump and code not in dump
    assert client.cookies.get(SESSION_COOKIE) not in dump

    conn = db_connect(db_path)
    assert tokens_revoke_all(conn) == 2  # the session and the bearer token
    conn.close()
    assert script.get("/api/status", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/api/status").status_code == 401


def test_wrong_codes_are_rate_limited(lan_app, db_path: Path) -> None:
    _, client = lan_app
    for _ in range(5):
        assert client.post("/api/pair", json={"code": "AAAAAAAAAA"}).status_code == 400
    good = _code(db_path)
    r = client.post("/api/pair", json={"code": good})
    assert r.status_code == 429  # even the right code: guessing must not pay off
    assert int(r.headers["retry-after"]) > 0
    assert client.get("/api/status").status_code == 401


def test_cross_origin_writes_are_refused_and_no_cors_is_offered(db_path: Path) -> None:
    app = app_create(db_path, bind_host="127.0.0.1")
    with TestClient(app, base_url=LOCAL) as client:
        body = {"start": "2026-11-20T10:00:00Z", "end": "2026-11-20T10:10:00Z", "label": "waiting"}
        r = client.post("/api/moments", json=body, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403
        r = client.post("/api/moments", json=body, headers={"Origin": "null"})
        assert r.status_code == 403
        r = client.post("/api/moments", json=body, headers={"Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 403
        r = client.post("/api/moments", json=body, headers={"Origin": LOCAL})
        assert r.status_code == 201, r.text
        pre = client.options("/api/moments", headers={
            "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in pre.headers
        got = client.get("/api/labels", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in got.headers


def test_page_forbids_loading_anything_from_elsewhere(db_path: Path) -> None:
    app = app_create(db_path)
    with TestClient(app, base_url=LOCAL) as client:
        r = client.get("/")
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "http" not in r.text.split("<body>")[0].replace('http-equiv', '')  # no external assets
        assert r.headers["x-content-type-options"] == "nosniff"
    # and nothing in the page's own files points elsewhere (no CDN, no fonts, no analytics)
    for asset in STATIC_DIR.iterdir():
        if asset.suffix == ".png":  # the app's icons: images, nothing they could load
            continue
        text = asset.read_text("utf-8")
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), asset.name


def test_pairing_code_normalisation_is_forgiving() -> None:
    assert pairing_code_normalise(" abcde-fghjk ") == "ABCDEFGHJK"
    assert pairing_code_normalise("O1IL") == "0111"


def test_attune_pair_prints_a_link_whose_code_pairs_once(db_path: Path) -> None:
    import re
    import subprocess
    import sys

    db_connect(db_path).close()  # pair reads an existing database; it creates none
    out = subprocess.run([sys.executable, "-m", "attune.cli", "pair", "--db", str(db_path), "--port", "8765"],
                         capture_output=True, text=True, timeout=60, check=True)
    text = out.stdout + out.stderr
    link = re.search(r"(http://\S+/pair)#([0-9A-Z]{10})", text)
    assert link, text
    assert "?" not in link.group(0)  # the code rides in the fragment: never sent, never logged
    assert re.search(r"[▀▄█]{10}", text)  # the QR code
    code = link.group(2)
    app = app_create(db_path, bind_host="0.0.0.0")
    with TestClient(app, base_url=LAN) as client:
        assert client.post("/api/pair", json={"code": code}).status_code == 200
        assert client.get("/api/status").status_code == 200
    with TestClient(app, base_url=LAN) as other:
        assert other.post("/api/pair", json={"code": code}).status_code == 400
