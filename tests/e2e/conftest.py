"""Redis as the django-q2 broker, and qcluster processes that can be killed.

The tests use the machine's Redis on 127.0.0.1:6379 (.ci/run starts it), in
a database of their own: one of REDIS_TEST_DBS, leased for the test session
with a key, so that test runs side by side never share a queue. They delete
keys only in that database.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django_q.conf import Conf

from tests.conftest import MANAGE_PY, subprocess_env

REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379
REDIS_TEST_DBS = range(9, 13)
LEASE_KEY = "sharebook:test-session"
LEASE_S = 3600
PROJECT = MANAGE_PY.parent

# Short django-q2 timeouts and leases, so that a killed cluster's work is
# taken over within seconds; every check in the settings still holds.
FAST_CLUSTER_ENV = {
    "Q_WORKERS": "2",
    "Q_TIMEOUT": "4",
    "Q_RETRY": "8",
    "OUTBOX_LEASE_S": "4",
    "OUTBOX_DRAIN_BUDGET_S": "2",
    "OUTBOX_BACKOFF_BASE_S": "0.1",
    "OUTBOX_BACKOFF_MAX_S": "1",
    "NOTIFICATIONS_SEND_BUDGET_S": "1",
    "NOTIFICATIONS_TIMEOUT_S": "1",
    "LOG_LEVEL": "WARNING",
}


def connect(db: int) -> redis.Redis:
    return redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db, socket_timeout=5)


def require_redis() -> None:
    """Skip without Redis on a laptop; in CI a missing Redis is a failure."""
    try:
        connect(0).ping()
    except redis.ConnectionError as error:
        message = f"Redis is not answering on {REDIS_HOST}:{REDIS_PORT}: {error}"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (.ci/run starts it)")
        pytest.skip(f"{message}; start it to run the Redis tests")


def lease_database(token: str) -> int:
    for db in REDIS_TEST_DBS:
        if connect(db).set(LEASE_KEY, token, nx=True, ex=LEASE_S):
            return db
    raise RuntimeError(
        f"Redis databases {list(REDIS_TEST_DBS)} are all leased by other test "
        f"runs (key {LEASE_KEY!r}); wait for them or delete a stale lease."
    )


def release_database(db: int, token: str) -> None:
    client = connect(db)
    if client.get(LEASE_KEY) == token.encode():
        client.delete(LEASE_KEY)


@pytest.fixture(scope="session")
def redis_db():
    """The number of a Redis database this test session has to itself."""
    require_redis()
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    db = lease_database(token)
    yield db
    release_database(db, token)


def clear_database(db: int) -> None:
    """Delete everything but the lease: queues, cluster stats, throttle counts."""
    client = connect(db)
    keys = [key for key in client.scan_iter(count=1000) if key != LEASE_KEY.encode()]
    if keys:
        client.delete(*keys)


@pytest.fixture
def redis_url(redis_db, monkeypatch) -> str:
    """A clean Redis broker, used by this process as by the clusters it starts.

    django-q2 reads its broker settings once, into ``Conf``, so that is what
    is switched here; then nudges from this process go through Redis.
    """
    clear_database(redis_db)
    url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}"
    monkeypatch.setattr(Conf, "REDIS", url)
    monkeypatch.setattr(Conf, "ORM", None)
    yield url
    clear_database(redis_db)


def queue_length(url: str) -> int:
    return redis.Redis.from_url(url).llen(f"django_q:{Conf.CLUSTER_NAME}:q")


class Service:
    """A process group: stopped politely, or killed like a lost machine."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path):
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.process = self.start()

    def start(self) -> subprocess.Popen:
        with self.log_path.open("a") as log:
            return subprocess.Popen(
                self.argv,
                cwd=PROJECT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group, so that a kill takes its children too
                # (a cluster's sentinel, pusher and workers).
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the whole group at once."""
        signal_group(self.process, signal.SIGKILL)
        self.process.wait(timeout=10)

    def restart(self) -> None:
        self.process = self.start()

    def is_running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.is_running():
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left of the group (a worker mid-task) goes too.
        signal_group(self.process, signal.SIGKILL)
        self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


@pytest.fixture
def start_service(settings, tmp_path):
    """Start processes on the test database; all of them are stopped after."""
    started: list[Service] = []

    def start(name: str, argv: list[str], **env: str) -> Service:
        log_path = tmp_path / f"{name}-{len(started) + 1}.log"
        started.append(Service(argv, subprocess_env(settings, **env), log_path))
        return started[-1]

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def start_cluster(start_service):
    """Start a qcluster with these environment variables."""

    def start(**env: str) -> Service:
        return start_service(
            "qcluster", [sys.executable, str(MANAGE_PY), "qcluster"], **env
        )

    return start


def wait_for(condition, timeout_s: float, what: str, poll_s: float = 0.1) -> float:
    """Wait until ``condition()`` is true; return the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        time.sleep(poll_s)
    return time.monotonic() - started
