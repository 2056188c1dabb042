"""Settings, read once from the environment at the edge (cli / app factory), never in the domain.

    CALEA_HOME            data directory (default ./var): database, content store, keys
    CALEA_DATABASE_URL    SQLAlchemy URL (default sqlite:///$CALEA_HOME/calea.db)
    CALEA_SECURE_COOKIES  "1" to mark session cookies Secure (behind TLS)
    CALEA_SESSION_IDLE_MINUTES, CALEA_SESSION_MAX_HOURS   session timeouts
    CALEA_LOCKOUT_THRESHOLD, CALEA_LOCKOUT_MINUTES         password lockout
    CALEA_STORE_CAPACITY  working-store capacity (e.g. 500G) for FIFO retention (rule D2)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    secure_cookies: bool = False
    session_idle: timedelta = timedelta(minutes=30)
    session_max: timedelta = timedelta(hours=12)
    lockout_threshold: int = 5
    lockout_duration: timedelta = timedelta(minutes=15)
    scheduler_interval: float = 1.0
    store_capacity: int | None = None  # bytes; FIFO retention (D2) when set
    carrier_silence: timedelta | None = timedelta(minutes=10)  # alert: nothing from a carrier with active intercepts
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def content_dir(self) -> Path:
        return self.home / "content"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        home = Path(env.get("CALEA_HOME", "./var")).resolve()
        url = env.get("CALEA_DATABASE_URL") or f"sqlite:///{home / 'calea.db'}"
        return cls(
            home=home,
            database_url=url,
            secure_cookies=env.get("CALEA_SECURE_COOKIES", "0") == "1",
            session_idle=timedelta(minutes=int(env.get("CALEA_SESSION_IDLE_MINUTES", "30"))),
            session_max=timedelta(hours=int(env.get("CALEA_SESSION_MAX_HOURS", "12"))),
            lockout_threshold=int(env.get("CALEA_LOCKOUT_THRESHOLD", "5")),
            lockout_duration=timedelta(minutes=int(env.get("CALEA_LOCKOUT_MINUTES", "15"))),
            store_capacity=parse_size(env.get("CALEA_STORE_CAPACITY", "")),
            carrier_silence=timedelta(minutes=float(env.get("CALEA_CARRIER_SILENCE_MINUTES", "10"))) or None,
        )


def parse_size(text: str) -> int | None:
    """'500G', '20M', '1048576' -> bytes; empty -> None."""
    text = text.strip().upper()
    if not text:
        return None
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)
