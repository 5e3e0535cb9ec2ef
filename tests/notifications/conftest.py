"""Loopback-only networking, and the push providers played on it."""

import ipaddress
import socket
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from django.db.models import F
from py_vapid import Vapid

from notifications.models import Notification
from outbox.models import Delivery
from tests.notifications.peers import ExpoPeer, FcmPeer, ServiceAccount, WebPushPeer

LOOPBACK_NAMES = {None, "localhost", "127.0.0.1", "::1"}


class LeftLoopback(BaseException):
    """A test tried to reach beyond this machine.

    A BaseException, so that no ``except Exception`` in a backend or the relay
    turns it into a retry: the test fails on the spot.
    """


def is_loopback(host) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Fail any test whose code resolves or connects to anything but loopback."""
    attempts = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(address) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if isinstance(address, tuple) and not is_loopback(host):
            attempts.append(address)
            raise LeftLoopback(f"a test tried to connect to {address}")

    def connect(sock, address):
        check(address)
        return real_connect(sock, address)

    def connect_ex(sock, address):
        check(address)
        return real_connect_ex(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        if not is_loopback(host):
            attempts.append(host)
            raise LeftLoopback(f"a test tried to look up {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    assert attempts == [], f"tests must stay on loopback: {attempts}"


@pytest.fixture
def configure(settings):
    """Change NOTIFICATIONS settings by name: configure(backend=..., timeout_s=1)."""

    def apply(**changes):
        upper = {name.upper(): value for name, value in changes.items()}
        settings.NOTIFICATIONS = {**settings.NOTIFICATIONS, **upper}

    return apply


@pytest.fixture(scope="session")
def service_account():
    return ServiceAccount()


@pytest.fixture
def fcm_peer(service_account):
    peer = FcmPeer(service_account).start()
    yield peer
    peer.stop()


@pytest.fixture
def fcm(fcm_peer, service_account, configure, tmp_path):
    """Send through the FCM backend to the loopback FCM."""
    credentials = service_account.write(tmp_path / "sa.json", fcm_peer.token_uri)
    configure(
        backend="notifications.backends.ProviderBackend",
        fcm_credentials=credentials,
        fcm_url=fcm_peer.url,
        timeout_s=2,
    )
    return fcm_peer


@pytest.fixture
def expo(configure):
    peer = ExpoPeer().start()
    configure(
        backend="notifications.backends.ProviderBackend",
        expo_url=peer.send_url,
        timeout_s=2,
    )
    yield peer
    peer.stop()


@pytest.fixture(scope="session")
def vapid_key():
    vapid = Vapid()
    vapid.generate_keys()
    return vapid


@pytest.fixture
def webpush(vapid_key, configure, tmp_path):
    public = vapid_key.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    peer = WebPushPeer(public).start()
    key_file = tmp_path / "vapid.pem"
    vapid_key.save_key(str(key_file))
    configure(
        backend="notifications.backends.ProviderBackend",
        webpush_vapid_private_key=str(key_file),
        webpush_vapid_subject="mailto:push@sharebook.test",
        webpush_hosts=["127.0.0.1"],
        webpush_require_https=False,
        timeout_s=2,
    )
    yield peer
    peer.stop()


def travel(seconds: float) -> None:
    """Bring every waiting notification and delivery ``seconds`` closer.

    Time travel instead of sleeping: what waits for a retry becomes due as if
    that much time had passed.
    """
    delta = timedelta(seconds=seconds)
    Notification.objects.filter(status=Notification.Status.PENDING).update(
        next_attempt_at=F("next_attempt_at") - delta
    )
    Delivery.objects.filter(state=Delivery.State.PENDING).update(
        available_at=F("available_at") - delta
    )
