"""`make test`: the whole suite on SQLite, and on PostgreSQL when one is reachable.

PostgreSQL comes from CALEA_TEST_POSTGRES_URL (default: postgresql+psycopg://postgres@127.0.0.1:5432/test).
When it cannot be reached the PostgreSQL half is skipped, and this says so loudly.
"""

from __future__ import annotations

import os
import subprocess
import sys

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_reachable(url: str) -> bool:
    try:
        import psycopg

        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("select 1")
        return True
    except Exception as exc:  # any failure means "not reachable" here
        print(f"[calea] PostgreSQL at {url} not reachable ({exc.__class__.__name__}: {exc})")
        return False


def main() -> int:
    env = dict(os.environ)
    url = env.get("CALEA_TEST_POSTGRES_URL", DEFAULT_PG)
    if postgres_reachable(url):
        env["CALEA_TEST_POSTGRES_URL"] = url
        print(f"[calea] running the suite on SQLite and on PostgreSQL ({url})")
    else:
        env["CALEA_TEST_POSTGRES_URL"] = ""
        print("[calea] WARNING: PostgreSQL is not reachable: the PostgreSQL half of the suite is SKIPPED")
    args = sys.argv[1:] or ["tests"]
    return subprocess.call([sys.executable, "-m", "pytest", "-q", *args], env=env)


if __name__ == "__main__":
    sys.exit(main())
