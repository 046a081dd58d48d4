"""Settings from the environment (``ATTUNE_*``) with command-line flags on top.

Health data stays on the user's machine: the database lives in the platform's user data
directory unless ``--db`` / ``ATTUNE_DB`` say otherwise, and the web app binds to
127.0.0.1 unless told to listen on the network (which then requires pairing).
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from attune.defaults import ACC_RATE_HZ, SCAN_TIMEOUT_S

APP_NAME = "attune"


def db_path_default() -> Path:
    """``<user data dir>/attune.sqlite``, e.g. ~/.local/share/attune/attune.sqlite on Linux."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "attune.sqlite"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ATTUNE_", extra="ignore")

    db: Path = Field(default_factory=db_path_default, description="SQLite database file")
    host: str = Field("127.0.0.1", description="address the web app binds to")
    port: int = Field(8765, ge=1, le=65535, description="port the web app listens on")
    trusted_proxy: str | None = Field(
        None, description="address(es) of a reverse proxy whose X-Forwarded-For is believed "
        "(comma-separated); unset: the header is ignored")
    device: str | None = Field(None, description="strap address or name to record from")
    watchdog_s: float = Field(10.0, gt=0, description="silence after which a link counts as lost")
    backoff_cap_s: float = Field(60.0, gt=0, description="longest wait between reconnects")
    scan_timeout_s: float = Field(SCAN_TIMEOUT_S, gt=0, description="how long `attune scan` and each reconnect attempt scan")
    acc_rate_hz: int = Field(ACC_RATE_HZ, ge=0, le=1000, description="accelerometer rate asked of a strap that has one "
                             "(Polar PMD; the nearest it offers); 0: motion off")
    certfile: Path | None = Field(None, description="TLS certificate (PEM) to serve the page over HTTPS, with keyfile")
    keyfile: Path | None = Field(None, description="TLS private key (PEM) of certfile")
    notify_url: str | None = Field(
        None, description="Apprise URL for a message on each new episode while no page is open (holds secrets: never logged)")
    notify_quiet: str | None = Field(None, description="local quiet hours without messages, HH:MM-HH:MM, e.g. 22:00-08:00")
    notify_cap: int = Field(6, ge=0, le=100, description="most messages a day")
    notify_gap_min: float = Field(30.0, ge=0, description="least minutes between two messages")
    demo_duration_s: float | None = Field(
        None, gt=0, description="stop `attune demo` after this many seconds (smoke tests)"
    )


def settings_load(**overrides: object) -> Settings:
    """Environment first, then explicit (non-None) overrides from the command line."""
    from attune.errors import UsageError

    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:  # one line, named as the user gave it (flag or variable)
        parts = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err.get("loc") else "setting"
            where = f"--{name.replace('_', '-')}" if name in clean else f"ATTUNE_{name.upper()}"
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            parts.append(f"{where} {err.get('input')!s}: {msg[:1].lower()}{msg[1:]}")
        raise UsageError("; ".join(parts)) from None
