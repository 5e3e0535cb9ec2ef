import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from outbox import publisher
from outbox.claims import has_claimable
from outbox.relay import drain
from tests.factories import make_user

MANAGE_PY = Path(__file__).resolve().parent.parent / "manage.py"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Real hashing costs ~0.3 s a user; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Each test starts with no request counted by the throttles."""
    cache.clear()


@pytest.fixture(autouse=True)
def fresh_nudge_window(monkeypatch):
    """Each test starts outside the nudge-coalescing window of the one before."""
    monkeypatch.setattr(publisher, "_last_nudge", 0.0)


@pytest.fixture
def user(db):
    return make_user()


@pytest.fixture
def client(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.fixture
def anonymous_client():
    return APIClient()


def run_relay_until_idle(rounds: int = 100) -> None:
    """Drain in this process until nothing is due (what a cluster would do)."""
    for _ in range(rounds):
        if not has_claimable():
            return
        drain(budget_s=30)
    raise AssertionError("the outbox did not run dry")


def wait_until_drained(timeout_s: float = 60) -> None:
    """Wait for another process (a cluster) to finish every delivery."""
    from outbox.models import Delivery

    deadline = time.monotonic() + timeout_s
    while Delivery.objects.exclude(state=Delivery.State.DONE).exists():
        if time.monotonic() > deadline:
            states = Delivery.objects.values_list("subscriber", "state", "last_error")
            raise AssertionError(f"not done after {timeout_s} s: {list(states)}")
        time.sleep(0.1)


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def media_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def get_test_database_url() -> str:
    """A URL that lets another process open the database this test uses."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def subprocess_env(settings, **extra: str) -> dict[str, str]:
    """The environment for a manage.py child process sharing the test database."""
    env = {
        **os.environ,
        "DATABASE_URL": get_test_database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


def run_manage(settings, *args: str, timeout: float = 120, **env: str):
    return subprocess.run(
        [sys.executable, str(MANAGE_PY), *args],
        env=subprocess_env(settings, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def staff(db):
    """A logged-in superuser, for admin pages."""
    operator = make_user("operator")
    operator.is_staff = operator.is_superuser = True
    operator.save()
    browser = Client()
    browser.force_login(operator)
    return browser


@pytest.fixture
def ledger():
    """The table the outbox test handlers record each run in (see handlers.py)."""
    from tests.outbox.handlers import LEDGER

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {LEDGER} (event_id bigint PRIMARY KEY)")
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {LEDGER}")
