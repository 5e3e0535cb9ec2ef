"""What lies within a radius of any point, nearest first, a page at a time.

The point is arbitrary (a user's position, not a stored place), so stored
distances do not help; the distances are computed per request. The cost must
not grow with the world:

1. The query reads only rows whose place lies in the point's bounding box
   (the (latitude, longitude) index), so the radius bounds the work; the API
   caps the radius.
2. Each candidate gets a lower and an upper bound of its distance from the
   haversine (about 1 µs). Candidates whose lower bound is beyond the radius
   drop out; only those whose bounds straddle the radius are measured to
   decide whether they are in, which gives the count.
3. A page ``[start, stop)`` needs exact distances only for candidates that
   could be among the first ``stop``: those whose lower bound is at most the
   ``stop``-th smallest upper bound. Page 1 of a few thousand candidates
   measures a few dozen geodesics; deeper pages measure more, never more than
   the candidates in the radius.

Ties keep the order of the rows as given (the query's own order), so the
order is total and pages never overlap or skip a row. The count and the page
come from one query; the page's objects from one more (plus prefetches), so
the number of queries is the same for every page.
"""

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from django.db.models import QuerySet

from places.geo import Box, bound_m, bounding_box, measure_m


@dataclass(frozen=True)
class Near:
    """A point and a radius around it, from ``?near=LAT,LON&radius_km=R``."""

    latitude: float
    longitude: float
    radius_m: float

    def box(self) -> Box:
        return bounding_box(self.latitude, self.longitude, self.radius_m)

    def rank(self, queryset: QuerySet, via: str = "") -> "Ranking":
        """Rank the rows of ``queryset`` by the distance of their place.

        ``via`` is the lookup path from a row to its place (``"place__"`` for
        books, empty for places themselves).
        """
        rows = queryset.filter(self.box().as_q(via)).values_list(
            "pk", f"{via}latitude", f"{via}longitude"
        )
        return Ranking(self.latitude, self.longitude, self.radius_m, rows)


class Candidate:
    __slots__ = ("order", "key", "point", "low", "high", "meters")

    def __init__(self, order, key, point, low, high):
        self.order = order
        self.key = key
        self.point = point
        self.low = low
        self.high = high
        self.meters = None

    @property
    def upper(self) -> float:
        return self.high if self.meters is None else self.meters


class Ranking(Sequence):
    """(key, metres) of the rows within the radius, nearest first.

    Measures geodesics only as far as it is read (see the module docstring).
    Works as the object list of Django's ``Paginator``.
    """

    def __init__(
        self,
        latitude: float,
        longitude: float,
        radius_m: float,
        rows: Iterable[tuple[Hashable, float, float]],
    ):
        self.origin = (latitude, longitude)
        self.radius_m = radius_m
        self.measured: dict[tuple[float, float], float] = {}
        self.candidates = self.keep_within(self.bound_all(rows))

    def bound_all(self, rows) -> list[Candidate]:
        bounds: dict[tuple[float, float], tuple[float, float]] = {}
        candidates = []
        for order, (key, lat, lon) in enumerate(rows):
            point = (lat, lon)
            if point not in bounds:
                bounds[point] = bound_m(*self.origin, lat, lon)
            low, high = bounds[point]
            if low <= self.radius_m:
                candidates.append(Candidate(order, key, point, low, high))
        return candidates

    def keep_within(self, candidates: list[Candidate]) -> list[Candidate]:
        """Measure the candidates that straddle the radius; drop those beyond."""
        for candidate in candidates:
            if candidate.high > self.radius_m:
                self.measure(candidate)
        return [c for c in candidates if c.upper <= self.radius_m]

    def measure(self, candidate: Candidate) -> None:
        point = candidate.point
        if point not in self.measured:
            self.measured[point] = measure_m(*self.origin, *point)
        candidate.meters = self.measured[point]

    def __len__(self) -> int:
        return len(self.candidates)

    def __iter__(self):
        return iter(self.slice(0, len(self)))

    def __getitem__(self, index):
        if isinstance(index, int):
            position = index + len(self) if index < 0 else index
            if not 0 <= position < len(self):
                raise IndexError("ranking index out of range")
            return self.slice(position, position + 1)[0]
        if index.step not in (None, 1):
            raise ValueError("A ranking is read in steps of one.")
        return self.slice(*index.indices(len(self))[:2])

    def slice(self, start: int, stop: int) -> list[tuple[Hashable, float]]:
        if start >= stop:
            return []
        uppers = sorted(candidate.upper for candidate in self.candidates)
        reach = uppers[stop - 1]
        # Whatever is among the first ``stop`` is at most ``reach`` away, so
        # its lower bound is too; nothing else can come before it.
        contenders = [c for c in self.candidates if c.low <= reach]
        for candidate in contenders:
            if candidate.meters is None:
                self.measure(candidate)
        contenders.sort(key=lambda c: (c.meters, c.order))
        return [(c.key, c.meters) for c in contenders[start:stop]]


def fetch_page(queryset: QuerySet, page: list[tuple[Hashable, float]]) -> list:
    """Return the page's objects in ranked order, each with its ``distance_m``.

    One query (plus the queryset's prefetches). A row gone since it was
    ranked is left out.
    """
    found = queryset.in_bulk([key for key, _ in page])
    objects = []
    for key, meters in page:
        if key in found:
            found[key].distance_m = meters
            objects.append(found[key])
    return objects
