from outbox.models import Event
from outbox.registry import subscriber
from places.models import Place
from places.services import PLACE_CREATED, PLACE_MOVED, store_distances


# A moved place is measured where it is now, like a new one.
@subscriber(PLACE_CREATED, name="places.store_distances")
@subscriber(PLACE_MOVED, name="places.store_moved_distances")
def store_place_distances(event: Event) -> None:
    place = Place.objects.filter(pk=event.payload["place_id"]).first()
    if place is not None:
        store_distances(place)
