"""Pairing a phone or a script: the page, and the one exchange reachable without a login."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from attune.api.auth import (
    SESSION_COOKIE,
    SESSION_MAX_AGE_S,
    pairing_code_redeem,
    token_issue,
)
from attune.api.deps import STATIC_DIR, AppContext, context
from attune.api.models import PairIn, PairOut, Problem

router = APIRouter(tags=["pairing"])


@router.get("/pair", include_in_schema=False)
def pair_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "pair.html", headers={"Cache-Control": "no-store"})


@router.post(
    "/api/pair",
    response_model=PairOut,
    responses={400: {"model": Problem}, 410: {"model": Problem}, 429: {"model": Problem}},
    summary="Exchange a one-time pairing code for a session cookie (or a bearer token)",
)
def pair(body: PairIn, request: Request, response: Response, ctx: AppContext = Depends(context)) -> PairOut | JSONResponse:
    # the peer address: uvicorn replaces it from X-Forwarded-For only when a trusted proxy
    # is configured (ATTUNE_TRUSTED_PROXY), so a header cannot pick another client's limit
    client = request.client.host if request.client else "?"
    wait_s = ctx.limiter.retry_after_s(client)
    if wait_s > 0:
        return JSONResponse({"detail": f"too many wrong codes; try again in {int(wait_s) + 1} s"},
                            status_code=429, headers={"Retry-After": str(int(wait_s) + 1)})
    conn = ctx.db.conn()
    outcome = pairing_code_redeem(conn, body.code, fails_since=ctx.limiter.fails_since)
    if outcome == "spent":
        return JSONResponse(
            {"detail": "this code was blocked after too many wrong tries: ask for a new code "
                       "(run `attune pair` again on the computer)"},
            status_code=410,
        )
    if outcome != "paired":
        ctx.limiter.failed(client)
        return JSONResponse(
            {"detail": "that code is not valid: codes work once and for ten minutes; run `attune pair` for a new one"},
            status_code=400,
        )
    agent = request.headers.get("user-agent", "")
    session = token_issue(conn, "session", agent)
    response.set_cookie(SESSION_COOKIE, session, max_age=SESSION_MAX_AGE_S, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/")
    response.headers["Cache-Control"] = "no-store"
    token = token_issue(conn, "bearer", agent) if body.want_token else None
    return PairOut(paired=True, token=token)
