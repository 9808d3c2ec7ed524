"""A throwaway PostgreSQL server for tests that need a real one.

It runs from the machine's PostgreSQL binaries in a temporary folder, on a
Unix socket only, and is stopped when the test session ends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    candidate = versions[-1] / name if versions else None
    return str(candidate) if candidate is not None and candidate.exists() else None


def available() -> bool:
    """Whether PostgreSQL server binaries and the psycopg driver are installed."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return False
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return False  # as root the server must run as another account
    return _bin("initdb") is not None and _bin("pg_ctl") is not None


def _as_server_user(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; drop to the postgres account when root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server; yield a libpq URL prefix ``postgresql+psycopg://…/`` to add a db name."""
    root = Path(tempfile.mkdtemp(prefix="labelloop-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    assert initdb and pg_ctl
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    subprocess.run(
        _as_server_user([initdb, "-D", str(data), "-U", user, "-A", "trust", "--no-sync"]),
        check=True,
        capture_output=True,
    )
    options = f"-k {sock} -c listen_addresses='' -c fsync=off -c max_connections=100"
    subprocess.run(
        _as_server_user(
            [pg_ctl, "-D", str(data), "-o", options, "-w", "-l", str(root / "log"), "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://{user}@/%s?host={sock}"
    finally:
        subprocess.run(
            _as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def create_database(url_template: str, name: str) -> str:
    """Create database ``name`` on the server and return its SQLAlchemy URL."""
    import psycopg

    admin = url_template.replace("postgresql+psycopg", "postgresql") % "postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url_template % name
