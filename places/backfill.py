"""Computing the distances that are missing, after a bulk load or a radius change.

A place is *done* when its ``distances_radius_km`` is the configured radius,
and *pending* otherwise. The backfill measures each pending place against the
places that are done or have a smaller id, so each pair is measured once:
whichever of its two places is processed last measures it. The handler of
``place.created`` measures a new place against every place, so it needs no
help from here, and either may run while the other does.

Pairs and "done" marks are written together in short transactions, chunk by
chunk, so an interrupted run loses at most one chunk and the next run carries
on from there. Measuring happens outside any transaction: on SQLite an open
write transaction would make shares wait. (A place deleted while its chunk is
being measured makes that chunk's write fail on its foreign key; the next run
does the chunk again without it.)
"""

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet

from places.models import Distance, Place
from places.services import find_neighbours, save_pairs

logger = logging.getLogger(__name__)

# Places read and marked at once.
CHUNK_PLACES = 500
# Pairs held in memory before they are written (with their places' marks),
# whatever the chunk: this, not the number of places, bounds the memory.
CHUNK_PAIRS = 20_000

Progress = Callable[[int], None]


@dataclass
class BackfillStats:
    places: int = 0
    pairs: int = 0


def get_pending_places(radius_km: float) -> QuerySet:
    """Places whose distances were never computed, or at another radius."""
    return Place.objects.exclude(distances_radius_km=radius_km)


def compute_pending(
    radius_km: float,
    chunk_places: int = CHUNK_PLACES,
    chunk_pairs: int = CHUNK_PAIRS,
    progress: Progress | None = None,
) -> BackfillStats:
    """Measure and store the pairs of every pending place, then mark it done."""
    stats = BackfillStats()
    for places, pairs in measure_pending(radius_km, chunk_places, chunk_pairs):
        with transaction.atomic():
            save_pairs(pairs)
            mark_done([place.pk for place in places], radius_km)
        stats.places += len(places)
        stats.pairs += len(pairs)
        if progress is not None:
            progress(len(places))
    return stats


def measure_pending(
    radius_km: float, chunk_places: int, chunk_pairs: int
) -> Iterator[tuple[list[Place], list[tuple[int, int, float]]]]:
    """Yield pending places with their new pairs, a bounded chunk at a time."""
    radius_m = radius_km * 1000
    places: list[Place] = []
    pairs: list[tuple[int, int, float]] = []
    for place in iterate_pending(radius_km, chunk_places):
        # Done places were measured against everything before them; pending
        # places after this one will measure themselves against it.
        measured_before = Q(distances_radius_km=radius_km) | Q(pk__lt=place.pk)
        neighbours = find_neighbours(place, radius_m, among=measured_before)
        pairs.extend((place.pk, other_id, meters) for other_id, meters in neighbours)
        places.append(place)
        if len(places) >= chunk_places or len(pairs) >= chunk_pairs:
            yield places, pairs
            places, pairs = [], []
    if places:
        yield places, pairs


def iterate_pending(radius_km: float, chunk_places: int) -> Iterator[Place]:
    """Yield pending places by id, reading them a chunk at a time."""
    pending = get_pending_places(radius_km).only("id", "latitude", "longitude")
    last_id = 0
    while True:
        chunk = list(pending.filter(pk__gt=last_id).order_by("pk")[:chunk_places])
        if not chunk:
            return
        yield from chunk
        last_id = chunk[-1].pk


def mark_done(place_ids: list[int], radius_km: float) -> None:
    Place.objects.filter(pk__in=place_ids).update(distances_radius_km=radius_km)


def has_shrunk(radius_km: float) -> bool:
    """Tell whether some places were done at a larger radius than this one."""
    return Place.objects.filter(distances_radius_km__gt=radius_km).exists()


def remove_pairs_beyond(
    radius_km: float,
    chunk_places: int = CHUNK_PLACES,
    progress: Progress | None = None,
) -> int:
    """After the radius shrank: delete longer pairs, then keep their places done.

    A place done at a larger radius holds every pair within the smaller one,
    so once the longer pairs are gone it is done at the new radius. Deletes go
    by ranges of places, through the (from_place, meters) index, so each
    transaction stays small.
    """
    if not has_shrunk(radius_km):
        return 0

    removed = 0
    for low, high, count in iterate_id_ranges(chunk_places):
        removed += Distance.objects.filter(
            from_place_id__gte=low, from_place_id__lte=high, meters__gt=radius_km * 1000
        ).delete()[0]
        if progress is not None:
            progress(count)
    Place.objects.filter(distances_radius_km__gt=radius_km).update(
        distances_radius_km=radius_km
    )
    logger.info(
        "removed %s distances beyond %s km",
        removed,
        radius_km,
        extra={"removed": removed, "radius_km": radius_km},
    )
    return removed


def iterate_id_ranges(size: int) -> Iterator[tuple[int, int, int]]:
    """Yield (first id, last id, count) of consecutive runs of ``size`` places."""
    ids = Place.objects.order_by("pk").values_list("pk", flat=True)
    last_id = 0
    while True:
        chunk = list(ids.filter(pk__gt=last_id)[:size])
        if not chunk:
            return
        yield chunk[0], chunk[-1], len(chunk)
        last_id = chunk[-1]
