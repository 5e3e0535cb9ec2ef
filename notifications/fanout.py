"""Who hears about a book, and storing their notifications in bulk.

Everything streams in chunks, so the memory a fan-out takes does not grow
with the number of users near the book.
"""

from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db import connection
from django.utils import timezone

from books.models import Book
from notifications.models import Device, Notification, NotificationPreference
from outbox.models import Event
from places.geo import bound_m, bounding_box, measure_m

CHUNK = 2000


def get_max_radius_km() -> float:
    """Users hear about books at most as far away as distances are stored."""
    return float(settings.PLACES["DISTANCE_RADIUS_KM"])


def find_interested_users(book: Book) -> Iterator[int]:
    """Yield users whose own radius around their location holds the book's place."""
    place = book.place
    box = bounding_box(place.latitude, place.longitude, get_max_radius_km() * 1000)
    candidates = (
        NotificationPreference.objects.filter(box.as_q(), enabled=True)
        .exclude(user_id=book.owner_id)
        .values_list("user_id", "latitude", "longitude", "radius_km")
    )
    for user_id, lat, lon, radius_km in candidates.iterator(chunk_size=CHUNK):
        if is_within(place.latitude, place.longitude, lat, lon, radius_km * 1000):
            yield user_id


def is_within(
    lat: float, lon: float, lat2: float, lon2: float, radius_m: float
) -> bool:
    """Tell whether the geodesic distance is at most ``radius_m``.

    Cheap bounds settle all but the points within 1 % of the edge, which are
    measured exactly.
    """
    low, high = bound_m(lat, lon, lat2, lon2)
    if low > radius_m:
        return False
    if high <= radius_m:
        return True
    return measure_m(lat, lon, lat2, lon2) <= radius_m


def store_notifications(book: Book, event: Event) -> int:
    """Store one pending notification per active device of each interested user.

    Idempotent: a (book, device) pair already stored is skipped, so a retried
    fan-out stores nothing twice. Returns how many were stored.
    """
    now = timezone.now()
    title = f"New book near you: {book.title}"[:200]
    body = f"{book.title} by {book.author}"
    stored = 0
    for users in chunked(find_interested_users(book), CHUNK):
        stored += insert_notifications(users, book, event, title, body, now)
    return stored


def insert_notifications(
    users: list[int], book: Book, event: Event, title: str, body: str, now
) -> int:
    """Insert the notifications of a chunk of users in one statement.

    INSERT ... SELECT from their devices: no row passes through Python, and
    ON CONFLICT skips the (book, device) pairs stored before. Returns how many
    rows were new.
    """
    when = connection.ops.adapt_datetimefield_value(now)
    params = [book.pk, event.pk, title, body, Notification.Status.PENDING, when, when]
    with connection.cursor() as cursor:
        cursor.execute(insert_sql(len(users)), [*params, *users])
        return cursor.rowcount


def insert_sql(user_count: int) -> str:
    notification = Notification._meta.db_table
    device = Device._meta.db_table
    users = ", ".join(["%s"] * user_count)
    return (
        f"INSERT INTO {notification} (book_id, event_id, title, body, status, "
        "next_attempt_at, created_at, recipient_id, device_id, attempts, last_error) "
        f"SELECT %s, %s, %s, %s, %s, %s, %s, user_id, id, 0, '' FROM {device} "
        f"WHERE active AND user_id IN ({users}) "
        "ON CONFLICT (book_id, device_id) DO NOTHING"
    )


def chunked(items: Iterable[int], size: int) -> Iterator[list[int]]:
    chunk: list[int] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
