"""Subscribers by topic, registered with ``@subscriber`` in each app's handlers.py."""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Subscriber:
    name: str
    topic: str
    handler: Callable
    # Atomic handlers run in one transaction with marking their delivery done,
    # so their database effects happen exactly once. Others (those that call
    # remote services) run outside it and must be idempotent on their own.
    atomic: bool = True
    # Ordered subscribers get the events of one key one at a time, in publish
    # order; a failing event holds back the later ones of its key only.
    ordered: bool = False


_by_name: dict[str, Subscriber] = {}


def subscriber(
    topic: str, *, name: str | None = None, atomic: bool = True, ordered: bool = False
):
    """Register the decorated function as a handler of ``topic``'s events."""

    def register(handler: Callable) -> Callable:
        subscriber_name = name or f"{handler.__module__}.{handler.__qualname__}"
        known = _by_name.get(subscriber_name)
        if known is not None and known.handler is not handler:
            raise ImproperlyConfigured(
                f"Two subscribers are named {subscriber_name!r}."
            )
        _by_name[subscriber_name] = Subscriber(
            subscriber_name, topic, handler, atomic, ordered
        )
        return handler

    return register


def get_subscribers(topic: str) -> list[Subscriber]:
    return [sub for sub in _by_name.values() if sub.topic == topic]


def get_subscriber(name: str) -> Subscriber | None:
    return _by_name.get(name)


def get_all_subscribers() -> list[Subscriber]:
    return list(_by_name.values())
