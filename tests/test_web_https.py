"""HTTPS when the user has a certificate: `attune serve --certfile --keyfile` (a self-signed
certificate made by openssl here) serves the page over TLS, the session cookie a pairing gives
is then `Secure`, and plain http is not answered; a missing half or a bad file is one line."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import REPO, missing
from test_web_e2e import browser, free_port  # noqa: F401  (browser is a fixture)

from attune.api.auth import pairing_code_create
from attune.db import db_connect


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        missing("openssl not found (apt-get install openssl)")
    key, crt = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(crt),
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return crt, key


def _serve(db: Path, port: int, *extra: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "attune.cli", "serve", "--db", str(db), "--port", str(port), *extra],
                            cwd=REPO, stdout=log.open("w"), stderr=subprocess.STDOUT)


def test_https_serves_the_page_and_the_session_cookie_is_secure(cert, tmp_path: Path) -> None:
    crt, key = cert
    db = tmp_path / "a.sqlite"
    conn = db_connect(db)
    code = pairing_code_create(conn)
    conn.close()
    port = free_port()
    proc = _serve(db, port, "--host", "0.0.0.0", "--certfile", str(crt), "--keyfile", str(key), log=tmp_path / "log")
    base = f"https://127.0.0.1:{port}"
    try:
        with httpx.Client(verify=ssl.create_default_context(cafile=str(crt)), timeout=5) as c:
            for _ in range(200):
                try:
                    if c.get(base + "/pair").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            else:
                pytest.fail((tmp_path / "log").read_text())
            assert c.get(base + "/api/status").status_code == 401  # paired mode: a phone must pair
            r = c.post(base + "/api/pair", json={"code": code})
            assert r.status_code == 200, r.text
            cookie = r.headers["set-cookie"].lower()
            assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
            assert c.get(base + "/api/status").status_code == 200  # the cookie is sent back over TLS
            page = c.get(base + "/")
            assert page.status_code == 200 and "attune" in page.text
        # `attune pair` finds this server and gives the phone an https link
        paired = subprocess.run([sys.executable, "-m", "attune.cli", "pair"], cwd=REPO, capture_output=True,
                                text=True, timeout=60)
        assert paired.returncode == 0 and f":{port}/pair#" in paired.stderr, paired.stderr
        assert "https://" in paired.stderr and "http://" not in paired.stderr
        with pytest.raises(httpx.HTTPError):  # plain http on the TLS port: no page
            httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=3)
    finally:
        proc.terminate()
        proc.wait(20)
    assert f"https://127.0.0.1:{port}/" in (tmp_path / "log").read_text()


def test_plain_http_pairing_cookie_is_not_secure(tmp_path: Path) -> None:
    """The contrast (as on the LAN today): over http the cookie cannot be Secure, or it would never come back."""
    db = tmp_path / "a.sqlite"
    conn = db_connect(db)
    code = pairing_code_create(conn)
    conn.close()
    port = free_port()
    proc = _serve(db, port, "--host", "0.0.0.0", log=tmp_path / "log")
    try:
        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/pair", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        r = httpx.post(f"http://127.0.0.1:{port}/api/pair", json={"code": code})
        assert r.status_code == 200 and "secure" not in r.headers["set-cookie"].lower()
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.mark.parametrize("case", ["only-cert", "missing-key", "not-a-cert"])
def test_bad_certificate_options_are_one_line(case: str, cert, tmp_path: Path) -> None:
    crt, key = cert
    db = tmp_path / "a.sqlite"
    db_connect(db).close()
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    extra = {"only-cert": ["--certfile", str(crt)],
             "missing-key": ["--certfile", str(crt), "--keyfile", str(tmp_path / "nope.pem")],
             "not-a-cert": ["--certfile", str(junk), "--keyfile", str(key)]}[case]
    proc = subprocess.run([sys.executable, "-m", "attune.cli", "serve", "--db", str(db), "--port", str(free_port()), *extra],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert {"only-cert": "both --certfile and --keyfile", "missing-key": "no such file",
            "not-a-cert": "cannot serve HTTPS"}[case] in proc.stderr


def test_the_page_is_an_installable_web_app_over_https(cert, browser, tmp_path: Path) -> None:  # noqa: F811
    """In Chromium over HTTPS: the manifest parses without errors, names the app, opens at "/"
    standalone, and its 192 and 512 px PNG icons (files in the repository) load."""
    import struct

    crt, key = cert
    db = tmp_path / "a.sqlite"
    db_connect(db).close()
    port = free_port()
    proc = _serve(db, port, "--certfile", str(crt), "--keyfile", str(key), log=tmp_path / "log")
    base = f"https://127.0.0.1:{port}"
    try:
        ctx = browser.new_context(ignore_https_errors=True, viewport={"width": 390, "height": 844})
        page = ctx.new_page()
        for _ in range(100):
            try:
                page.goto(base + "/")
                break
            except Exception:  # noqa: BLE001  (not listening yet)
                time.sleep(0.2)
        assert page.evaluate("window.isSecureContext") is True
        cdp = ctx.new_cdp_session(page)
        got = cdp.send("Page.getAppManifest")
        assert got["url"] == base + "/static/manifest.webmanifest"
        assert got["errors"] == [], got["errors"]
        manifest = json.loads(got["data"])
        assert manifest["name"] == "attune" and manifest["start_url"] == "/" and manifest["display"] == "standalone"
        for icon in manifest["icons"]:
            r = page.request.get(base + icon["src"])
            assert r.status == 200 and r.headers["content-type"] == "image/png"
            w, h = struct.unpack(">II", r.body()[16:24])  # the PNG's IHDR
            assert f"{w}x{h}" == icon["sizes"]
        assert page.request.get(base + "/static/manifest.webmanifest").headers["content-type"].startswith(
            "application/manifest+json")
        ctx.close()
    finally:
        proc.terminate()
        proc.wait(20)
