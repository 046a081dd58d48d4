"""What the routes share: the app's context (one per app) as a FastAPI dependency.

Routes take ``ctx: AppContext = Depends(context)``; :mod:`attune.api.app` builds the
context and includes the routers, so the routes never import the app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from fastapi import Request

from attune.api.auth import AuthPolicy, FailureLimiter
from attune.api.database import Database
from attune.api.live import LiveHub

STATIC_DIR = Path(str(resources.files("attune.api").joinpath("static")))


@dataclass
class AppContext:
    """What every route needs; one per app."""

    db: Database
    live: LiveHub
    mode: Literal["live", "stored"]
    policy: AuthPolicy
    limiter: FailureLimiter = field(default_factory=FailureLimiter)
    watchdog_s: float = 10.0
    tail_interval_s: float = 1.0
    recorder: Any = None  # live mode: the Recorder, whose storage health /api/status reports


def context(request: Request) -> AppContext:
    """The app's context (a FastAPI dependency)."""
    return request.app.state.ctx
