from outbox.models import Event
from outbox.registry import subscriber
from places.models import Place
from places.services import PLACE_CREATED, store_distances


@subscriber(PLACE_CREATED, name="places.store_distances")
def store_new_place_distances(event: Event) -> None:
    place = Place.objects.filter(pk=event.payload["place_id"]).first()
    if place is not None:
        store_distances(place)
