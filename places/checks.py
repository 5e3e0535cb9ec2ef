"""Refusing place settings that cannot work, at startup."""

import math

from django.core.exceptions import ImproperlyConfigured


def check_settings(places: dict) -> None:
    radius = places.get("DISTANCE_RADIUS_KM")
    is_number = isinstance(radius, int | float) and not isinstance(radius, bool)
    if not is_number or not math.isfinite(radius) or radius <= 0:
        raise ImproperlyConfigured(
            f"PLACES_DISTANCE_RADIUS_KM must be a positive number of kilometres, "
            f"not {radius!r}."
        )
