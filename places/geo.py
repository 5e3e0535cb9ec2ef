"""Geodesic math on the WGS-84 ellipsoid, and bounding boxes for indexed lookups."""

import math
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Q
from geopy.distance import geodesic

# The smallest radius of curvature of the WGS-84 ellipsoid (meridional, at the
# equator). Every path on the ellipsoid is at least as long as its image on a
# sphere of this radius, so a box drawn on that sphere contains every point
# within the radius on the ellipsoid.
MIN_CURVATURE_RADIUS_M = 6_335_439.0
# Leaves room for floating-point error at the box's edges.
BOX_MARGIN = 1.001


def check_finite(value: float) -> None:
    if not math.isfinite(value):
        raise ValidationError("Enter a finite number.", code="invalid")


def measure_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the geodesic distance between two points, in metres."""
    return geodesic((lat1, lon1), (lat2, lon2)).meters


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
