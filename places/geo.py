"""Geodesic math on the WGS-84 ellipsoid, and bounding boxes for indexed lookups."""

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Q
from geographiclib.geodesic import Geodesic

# geopy's geodesic is geographiclib's Inverse on an ellipsoid given in
# kilometres, times 1000. Calling it the same way gives geopy's value bit for
# bit, without the Point and Distance objects that double geopy's cost.
WGS84_KM = Geodesic(6378.137, 1 / 298.257223563)

# The smallest radius of curvature of the WGS-84 ellipsoid (meridional, at the
# equator), rounded down. Every path on the ellipsoid is at least as long as
# its image on a sphere of this radius, so a box drawn on that sphere contains
# every point within the radius on the ellipsoid.
MIN_CURVATURE_RADIUS_M = 6_335_439.0
# The largest radius of curvature (at the poles), rounded up: the image of a
# great circle arc on the ellipsoid is at most this long per radian.
MAX_CURVATURE_RADIUS_M = 6_399_594.0
# Leaves room for floating-point error at the box's edges.
BOX_MARGIN = 1.001
# The same, for the distance bounds (well above the error of the haversine).
BOUND_MARGIN = 1e-9


def check_finite(value: float) -> None:
    if not math.isfinite(value):
        raise ValidationError("Enter a finite number.", code="invalid")


def measure_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the geodesic distance between two points, in metres (as geopy)."""
    return WGS84_KM.Inverse(lat1, lon1, lat2, lon2, Geodesic.DISTANCE)["s12"] * 1000


def central_angle(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the angle between two points seen from the centre of a sphere."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    h = min(max(h, 0.0), 1.0)
    return 2 * math.atan2(math.sqrt(h), math.sqrt(1 - h))


def bound_m(lat1: float, lon1: float, lat2: float, lon2: float) -> tuple[float, float]:
    """Return a lower and an upper bound of the geodesic distance, in metres.

    About 30 times cheaper than the geodesic, and at most 1 % apart: enough to
    rule out or rank most candidates without measuring them.
    """
    angle = central_angle(lat1, lon1, lat2, lon2)
    low = angle * MIN_CURVATURE_RADIUS_M * (1 - BOUND_MARGIN)
    high = angle * MAX_CURVATURE_RADIUS_M * (1 + BOUND_MARGIN)
    return low, high


def select_within(
    lat: float,
    lon: float,
    radius_m: float,
    candidates: Iterable[tuple[Hashable, float, float]],
) -> list[tuple[Hashable, float]]:
    """Return (key, metres) for each candidate within ``radius_m``, in input order.

    Candidates that the lower bound puts beyond the radius (the corners of a
    bounding box) are not measured.
    """
    within = []
    for key, other_lat, other_lon in candidates:
        low, _ = bound_m(lat, lon, other_lat, other_lon)
        if low > radius_m:
            continue
        meters = measure_m(lat, lon, other_lat, other_lon)
        if meters <= radius_m:
            within.append((key, meters))
    return within


@dataclass(frozen=True)
class Box:
    """Latitudes and one or two longitude ranges (two when it wraps at 180)."""

    lat_min: float
    lat_max: float
    lon_ranges: tuple[tuple[float, float], ...]

    def contains(self, lat: float, lon: float) -> bool:
        in_lat = self.lat_min <= lat <= self.lat_max
        return in_lat and any(low <= lon <= high for low, high in self.lon_ranges)

    def as_q(self, prefix: str = "") -> Q:
        """Return the box as a filter on ``{prefix}latitude`` and ``longitude``."""
        lon_q = Q()
        for low, high in self.lon_ranges:
            lon_q |= Q(
                **{f"{prefix}longitude__gte": low, f"{prefix}longitude__lte": high}
            )
        lat_q = Q(**{f"{prefix}latitude__gte": self.lat_min})
        lat_q &= Q(**{f"{prefix}latitude__lte": self.lat_max})
        return lat_q & lon_q


def bounding_box(lat: float, lon: float, radius_m: float) -> Box:
    """Return a box holding every point within ``radius_m`` of (lat, lon)."""
    angle = radius_m * BOX_MARGIN / MIN_CURVATURE_RADIUS_M
    dlat = math.degrees(angle)
    lat_min, lat_max = lat - dlat, lat + dlat
    if lat_max >= 90 or lat_min <= -90 or angle >= math.pi / 2:
        # A pole is inside the circle: it covers every longitude.
        return Box(max(lat_min, -90.0), min(lat_max, 90.0), ((-180.0, 180.0),))

    # Widest longitude reached by a circle of this angular radius on a sphere.
    ratio = math.sin(angle) / math.cos(math.radians(lat))
    if ratio >= 1:
        return Box(lat_min, lat_max, ((-180.0, 180.0),))
    dlon = math.degrees(math.asin(ratio)) * BOX_MARGIN
    return Box(lat_min, lat_max, wrap_longitudes(lon - dlon, lon + dlon))


def wrap_longitudes(low: float, high: float) -> tuple[tuple[float, float], ...]:
    if high - low >= 360:
        return ((-180.0, 180.0),)
    if low < -180:
        return ((-180.0, high), (low + 360, 180.0))
    if high > 180:
        return ((low, 180.0), (-180.0, high - 360))
    return ((low, high),)
