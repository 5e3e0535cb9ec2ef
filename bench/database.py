"""Shared set-up for the benchmarks: their own PostgreSQL database, migrated."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/sharebook_bench"


def prepare_database(url: str | None = None) -> str:
    """Create the benchmark database if missing, migrate it, and set up Django."""
    url = url or os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    create_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    subprocess.run(
        [sys.executable, str(PROJECT / "manage.py"), "migrate", "--no-input", "-v0"],
        check=True,
        env=os.environ,
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sharebook.settings")
    sys.path.insert(0, str(PROJECT))
    import django

    django.setup()
    return url


def create_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
