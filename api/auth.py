"""Who may talk to the web app.

Two modes, chosen by the address the server binds to:

* **local** (127.0.0.1, ::1, localhost): no login — anything on this machine can read the
  database file anyway. The Host header must name the loopback address, so a web page
  elsewhere cannot reach the app through DNS rebinding.
* **paired** (any other address): every route except the pairing exchange needs a
  session cookie or a bearer token. ``attune pair`` writes a one-time code (hashed) into
  the database; the phone opens ``/pair#<code>`` — the code sits in the URL fragment, which
  browsers never send, so it reaches no access log — and the page posts it to
  ``POST /api/pair``, which answers with an HttpOnly, SameSite=Strict cookie (or a bearer
  token for scripts). Codes and tokens are stored as SHA-256 digests only.

In both modes, state-changing requests whose Origin is another site are refused, no CORS
header is ever sent, and failed pairing attempts are limited per client address and
per code (:class:`FailureLimiter`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from attune.timeutil import now_ms

SESSION_COOKIE = "attune_session"
SESSION_MAX_AGE_S = 365 * 24 * 3600
PAIRING_CODE_TTL_S = 600.0
# Crockford base32 without look-alikes; 10 symbols = 50 bits, read off a screen if needed
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PAIRING_CODE_LENGTH = 10
# wrong tries (from anywhere) after which a live code dies and the owner asks for a new one
PAIRING_CODE_MAX_FAILS = 20

# Routes anyone may reach even in paired mode: the pairing page and the exchange itself.
PUBLIC_PATHS = frozenset({"/pair", "/static/pair.js", "/static/app.css", "/api/pair",
                          # the installable web app's manifest and icons: browsers fetch them without the cookie
                          "/static/manifest.webmanifest", "/static/icon-192.png", "/static/icon-512.png"})

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def host_is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost (what the default bind means)."""
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- pairing codes and tokens (database) ------------------------------------------------------
def pairing_code_normalise(code: str) -> str:
    """Upper-case, without spaces or dashes; common look-alikes mapped (O→0, I/L→1)."""
    cleaned = code.strip().upper().replace("-", "").replace(" ", "")
    return cleaned.translate(str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"}))


def pairing_code_create(conn: sqlite3.Connection, ttl_s: float = PAIRING_CODE_TTL_S) -> str:
    """A fresh one-time code; only its digest is stored."""
    code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(PAIRING_CODE_LENGTH))
    t = now_ms()
    conn.execute(
        "INSERT INTO pairing_code(code_sha256, created_epoch_ms, expires_epoch_ms) VALUES (?,?,?)",
        (sha256_hex(code), t, t + int(ttl_s * 1000)),
    )
    return code


def pairing_code_format(code: str) -> str:
    """``ABCDE-FGHJK``: easier to read aloud or type."""
    return f"{code[:5]}-{code[5:]}"


def pairing_code_redeem(conn: sqlite3.Connection, code: str, *,
                        fails_since: Callable[[int], int] | None = None,
                        max_fails: int = PAIRING_CODE_MAX_FAILS) -> str:
    """Mark the code used if it is valid and unexpired: ``'paired'``; ``'invalid'`` for no
    such live code; ``'spent'`` for a live code that ``max_fails`` wrong tries were made
    against since it was created (``fails_since(epoch_ms)`` counts them) — it dies then,
    so guessing a code is hopeless even from many addresses."""
    digest = sha256_hex(pairing_code_normalise(code))
    t = now_ms()
    row = conn.execute(
        "SELECT created_epoch_ms FROM pairing_code WHERE code_sha256=? AND used_epoch_ms IS NULL"
        " AND expires_epoch_ms > ?", (digest, t),
    ).fetchone()
    if row is None:
        return "invalid"
    if fails_since is not None and fails_since(row[0]) >= max_fails:
        conn.execute("UPDATE pairing_code SET expires_epoch_ms=? WHERE code_sha256=?", (t, digest))
        return "spent"
    cur = conn.execute(
        "UPDATE pairing_code SET used_epoch_ms=? WHERE code_sha256=? AND used_epoch_ms IS NULL"
        " AND expires_epoch_ms > ?",
        (t, digest, t),
    )
    return "paired" if cur.rowcount == 1 else "invalid"


def token_issue(conn: sqlite3.Connection, kind: str, client: str | None = None) -> str:
    """A new session or bearer token (256 bits); only its digest is stored."""
    token = secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO auth_token(token_sha256, kind, client, created_epoch_ms) VALUES (?,?,?,?)",
        (sha256_hex(token), kind, (client or "")[:200] or None, now_ms()),
    )
    return token


def token_valid(conn: sqlite3.Connection, token: str) -> bool:
    row = conn.execute(
        "SELECT id FROM auth_token WHERE token_sha256=? AND revoked_epoch_ms IS NULL",
        (sha256_hex(token),),
    ).fetchone()
    return row is not None


def tokens_invalid(conn: sqlite3.Connection, token_sha256s: set[str]) -> set[str]:
    """Those of the given token digests that are revoked or unknown (the server watches
    the tokens its open streams came with: ``attune pair --revoke`` may run elsewhere)."""
    if not token_sha256s:
        return set()
    wanted = sorted(token_sha256s)
    marks = ",".join("?" * len(wanted))
    valid = {r[0] for r in conn.execute(
        f"SELECT token_sha256 FROM auth_token WHERE revoked_epoch_ms IS NULL AND token_sha256 IN ({marks})",
        wanted)}
    return set(wanted) - valid


def tokens_revoke_all(conn: sqlite3.Connection) -> int:
    """Unpair every phone and script (``attune pair --revoke``)."""
    return conn.execute(
        "UPDATE auth_token SET revoked_epoch_ms=? WHERE revoked_epoch_ms IS NULL", (now_ms(),)
    ).rowcount


# -- rate limiting --------------------------------------------------------------------------
@dataclass
class FailureLimiter:
    """Failed pairing attempts.

    * per client (the peer address; X-Forwarded-For only behind a configured proxy): at
      most ``per_client`` wrong codes within ``window_s``, then that client waits;
    * per code: :meth:`fails_since` counts every wrong try made since a code was created,
      and :func:`pairing_code_redeem` lets the code die after ``PAIRING_CODE_MAX_FAILS``.

    There is no global lockout: a flood from elsewhere cannot keep the owner from pairing
    with a new code (a fresh code has seen no wrong tries), and guessing a 50-bit code in
    20 tries is hopeless."""

    per_client: int = 5
    window_s: float = 300.0
    _fails: dict[str, deque[float]] = field(default_factory=dict)
    _failed_ms: deque[int] = field(default_factory=lambda: deque(maxlen=10_000))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _trim(self, q: deque[float], now: float) -> None:
        while q and q[0] <= now - self.window_s:
            q.popleft()

    def retry_after_s(self, client: str) -> float:
        """0 if the client may try now, else seconds until it may."""
        now = time.monotonic()
        with self._lock:
            q = self._fails.get(client)
            if q is None:
                return 0.0
            self._trim(q, now)
            if len(q) >= self.per_client:
                return q[0] + self.window_s - now
            return 0.0

    def fails_since(self, epoch_ms: int) -> int:
        """Wrong tries (from any client) at or after ``epoch_ms``."""
        with self._lock:
            return sum(1 for t in self._failed_ms if t >= epoch_ms)

    def failed(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._fails.setdefault(client, deque()).append(now)
            self._failed_ms.append(now_ms())
            if len(self._fails) > 10_000:  # forget the oldest clients, never grow unbounded
                for key in list(self._fails)[:5_000]:
                    del self._fails[key]


# -- the ASGI guard -----------------------------------------------------------------------------
@dataclass(frozen=True)
class AuthPolicy:
    """What the server requires; ``paired`` whenever it listens beyond loopback."""

    paired: bool

    @classmethod
    def for_bind(cls, host: str) -> AuthPolicy:
        return cls(paired=not host_is_loopback(host))


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def request_token(headers: dict[str, str]) -> str | None:
    """Bearer token, else session cookie."""
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    if "cookie" in headers:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(headers["cookie"])
        except Exception:  # a malformed Cookie header is simply no cookie
            return None
        if SESSION_COOKIE in jar:
            return jar[SESSION_COOKIE].value or None
    return None


def _origin_ok(headers: dict[str, str], scheme: str) -> bool:
    """Same-origin or no browser origin at all (curl, scripts)."""
    if headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return False
    origin = headers.get("origin")
    if origin is None:
        return True
    return origin == f"{scheme}://{headers.get('host', '')}"


class AuthGuard:
    """ASGI middleware enforcing :class:`AuthPolicy` before any route runs."""

    def __init__(self, app: ASGIApp, policy: AuthPolicy, check_token: Callable[[str], bool]) -> None:
        self.app = app
        self.policy = policy
        self.check_token = check_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # the app has no WebSocket routes
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        path = scope.get("path", "")
        host = headers.get("host", "")
        hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if not self.policy.paired and not host_is_loopback(hostname):
            await _refuse(send, 421, f"this attune only answers to localhost, not {host!r}")
            return
        method = scope.get("method", "GET")
        if method not in ("GET", "HEAD", "OPTIONS") and not _origin_ok(headers, scope.get("scheme", "http")):
            await _refuse(send, 403, "cross-origin writes are refused")
            return
        if self.policy.paired and path not in PUBLIC_PATHS:
            token = request_token(headers)
            if token is None or not self.check_token(token):
                await _refuse(send, 401, "pairing required: run `attune pair` on the computer "
                              "running attune and open the link it shows", html=path == "/")
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, message: str, *, html: bool = False) -> None:
    if html:
        body = (
            "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>"
            "<title>attune — pairing needed</title><body style='font-family:system-ui;"
            "max-width:30em;margin:3em auto;padding:1em'><h1>attune</h1><p>This phone is not "
            "paired yet. On the computer running attune, run <code>attune pair</code> and "
            "scan the code it shows.</p>"
        ).encode()
        ctype = b"text/html; charset=utf-8"
    else:
        body = json.dumps({"detail": message}).encode()
        ctype = b"application/json"
    headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store")]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="attune"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
