"""The web app: FastAPI routes over one attune database, plus the phone page.

:func:`app_create` builds it for all three commands — ``attune run`` and ``attune demo``
(recording in the same process: live events come straight from the pipeline) and
``attune serve`` (stored data: a tailer turns new rows into live events).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mimetypes
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from attune import __version__
from attune.api import routes_breathing, routes_day, routes_export, routes_live, routes_pair, routes_status, routes_tags
from attune.api.auth import AuthGuard, AuthPolicy, token_valid, tokens_invalid
from attune.api.database import Database
from attune.api.deps import STATIC_DIR, AppContext
from attune.api.live import LiveHub
from attune.api.notify import Notifier, notify_watch
from attune.api.tags import TagError
from attune.api.tail import db_tail

log = logging.getLogger(__name__)

# the page is ES modules: with nosniff they need a JavaScript type, and some systems
# (a Windows registry entry, say) map .js to text/plain
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/manifest+json", ".webmanifest")

# The page loads nothing from elsewhere; say so to the browser as well.
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
     b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


_BUSY_CODES = {getattr(sqlite3, "SQLITE_BUSY", 5), getattr(sqlite3, "SQLITE_LOCKED", 6)}


def db_busy(exc: sqlite3.Error) -> bool:
    """True if ``exc`` says only that another connection holds the lock (SQLITE_BUSY /
    SQLITE_LOCKED, extended codes included): the one error a retry can cure."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _BUSY_CODES
    text = str(exc).lower()
    return "database is locked" in text or "database table is locked" in text or "database is busy" in text


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts) or "invalid request"


class _SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every HTTP response (pure ASGI: SSE streams pass)."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:  # type: ignore[no-untyped-def]
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


# Every route takes small JSON (a label, a note ≤ 1000 characters, a pairing code): bodies
# are capped before anything reads them, so a huge upload cannot fill the memory.
BODY_MAX_BYTES = 32 * 1024
BODY_MAX_BYTES_BY_PATH = {"/api/pair": 1024}  # reachable without a login


class _BodyLimit:
    """Refuses request bodies over the cap with 413, reading at most cap + one chunk.

    A declared Content-Length over the cap is refused before reading anything; a chunked
    body (no Content-Length) is read here, counted, and passed on only when it fits."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = BODY_MAX_BYTES_BY_PATH.get(scope.get("path", ""), BODY_MAX_BYTES)
        declared = None
        for key, value in scope.get("headers", []):
            if key.lower() == b"content-length":
                declared = value
        if declared is not None:
            if not declared.isdigit() or int(declared) > limit:
                await _too_large(send, limit)
                return
            if int(declared) == 0:
                await self.app(scope, receive, send)
                return
        # read the whole (small) body here, so the app never sees more than the cap
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            size += len(message.get("body", b""))
            if size > limit:
                await _too_large(send, limit)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay():  # type: ignore[no-untyped-def]
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: only http.disconnect

        await self.app(scope, replay, send)


async def _too_large(send, limit: int) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps({"detail": f"request body too large (at most {limit} bytes)"}).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


REVOCATION_CHECK_S = 1.0


async def revocation_watch(ctx: AppContext, interval_s: float = REVOCATION_CHECK_S) -> None:
    """End the live streams of revoked tokens within about ``interval_s``.

    ``attune pair --revoke`` usually runs in another process, so the server cannot be told:
    it looks. Other requests check their token each time; a stream only at its start."""
    while True:
        await asyncio.sleep(interval_s)
        watched = ctx.live.tokens()
        if not watched:
            continue
        try:
            revoked = await asyncio.to_thread(lambda w=watched: tokens_invalid(ctx.db.conn(), w))
        except sqlite3.OperationalError as exc:  # look again next round
            log.log(logging.DEBUG if db_busy(exc) else logging.WARNING, "revocation check skipped: %s", exc)
            continue
        if revoked:
            log.info("ended %d live stream(s) of revoked pairings", ctx.live.end_tokens(revoked))


def app_create(
    db_path: str | Path,
    *,
    mode: Literal["live", "stored"] = "stored",
    bind_host: str = "127.0.0.1",
    live: LiveHub | None = None,
    watchdog_s: float = 10.0,
    tail_interval_s: float = 1.0,
    notifier: Notifier | None = None,
) -> FastAPI:
    """The app for one database. ``mode='stored'`` tails the database for live events."""
    ctx = AppContext(
        db=Database(db_path), live=live or LiveHub(), mode=mode,
        policy=AuthPolicy.for_bind(bind_host), watchdog_s=watchdog_s, tail_interval_s=tail_interval_s,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(revocation_watch(ctx), name="revocation-watch")]
        if mode == "stored":
            tasks.append(asyncio.create_task(db_tail(ctx.db.path, ctx.live, ctx.tail_interval_s), name="db-tail"))
        if notifier is not None:  # new episodes while no page is open: a message (api.notify)
            tasks.append(asyncio.create_task(notify_watch(ctx.live, notifier), name="notify"))
        try:
            yield
        finally:
            ctx.live.close()
            for task in tasks:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            ctx.db.close()
            if notifier is not None:
                notifier.close()

    app = FastAPI(
        title="attune",
        version=__version__,
        summary="Your heart's activation over the day, and the names you give its moments.",
        description=(
            "Local-first: this API serves one person's recordings from their own machine. "
            "Times are ISO 8601 with a zone. In paired mode (listening beyond localhost) every "
            "route except the pairing exchange needs the session cookie or a bearer token."
        ),
        lifespan=lifespan,
        # FastAPI's /docs and /redoc pages load their scripts from a CDN: not here. The
        # OpenAPI document itself is at /openapi.json.
        docs_url=None,
        redoc_url=None,
        responses={
            401: {"description": "pairing required (paired mode only)"},
            403: {"description": "cross-origin write refused"},
        },
    )
    app.state.ctx = ctx

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_message(exc)}, status_code=422)

    @app.exception_handler(TagError)
    async def _bad_tag(_request: Request, exc: TagError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(sqlite3.DatabaseError)
    async def _database(request: Request, exc: sqlite3.DatabaseError) -> JSONResponse:
        if db_busy(exc):  # a healthy database locked for too long: worth a retry
            log.warning("database busy: %s", exc)
            return JSONResponse({"detail": "the database is busy; try again in a moment"},
                                status_code=503, headers={"Retry-After": "2"})
        # anything else (a missing table, an I/O error, a damaged file) will not pass by retrying
        log.error("%s %s: database error", request.method, request.url.path, exc_info=exc)
        detail = " ".join(str(exc).split()) or type(exc).__name__
        return JSONResponse({"detail": f"database error: {detail}"}, status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            return JSONResponse({"detail": "method not allowed here"}, status_code=405,
                                headers=exc.headers)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    for module in (routes_status, routes_live, routes_day, routes_tags, routes_export, routes_pair, routes_breathing):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    app.add_middleware(AuthGuard, policy=ctx.policy, check_token=lambda t: token_valid(ctx.db.conn(), t))
    app.add_middleware(_SecurityHeaders)
    app.add_middleware(_BodyLimit)  # outermost: before anything reads a body
    return app
