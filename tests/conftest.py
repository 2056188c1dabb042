"""Shared fixtures: a fresh database per test (SQLite, and PostgreSQL when configured),
a controllable clock, the services container, and signed-in API clients per role."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from calea.clock import FakeClock
from calea.config import Settings

T0 = datetime(2026, 11, 27, 12, 0, 0, tzinfo=timezone.utc)
REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
# The OpenLI records: from ../shared/vectors when it sits beside the repository, else the copy
# kept in tests/data/vectors (the same files; copied so a clone alone can run the suite).
VECTORS_ROOT = SHARED / "vectors" if (SHARED / "vectors").is_dir() else REPO / "tests" / "data" / "vectors"
OPENLI = VECTORS_ROOT / "openli-1.1.20-voip-ip"

PG_URL = os.environ.get("CALEA_TEST_POSTGRES_URL", "")


def _backends() -> list[object]:
    return ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a throwaway PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'calea.db'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL not configured (CALEA_TEST_POSTGRES_URL); `make test` sets it when reachable")
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(home=tmp_path / "home", database_url=database_url)


@pytest.fixture
def svc(settings: Settings, clock: FakeClock):  # type: ignore[no-untyped-def]
    from calea.bootstrap import build_services

    services = build_services(settings, clock)
    yield services
    services.db.dispose()
