from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from places.geo import check_finite


class Place(models.Model):
    """A point on the WGS-84 ellipsoid where books are shared."""

    name = models.CharField(max_length=200, blank=True)
    # Double precision keeps every digit a client sends (C6); a DecimalField
    # with too few places would reject or round it.
    latitude = models.FloatField(
        validators=[MinValueValidator(-90), MaxValueValidator(90), check_finite]
    )
    longitude = models.FloatField(
        validators=[MinValueValidator(-180), MaxValueValidator(180), check_finite]
    )
    geonames_id = models.PositiveIntegerField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The radius its distances were last computed at (null: never). A place
    # whose value is not the configured radius is pending for the backfill.
    distances_radius_km = models.FloatField(null=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["latitude", "longitude"], name="places_place_unique_point"
            ),
            models.CheckConstraint(
                condition=models.Q(latitude__gte=-90, latitude__lte=90),
                name="places_place_latitude_range",
            ),
            models.CheckConstraint(
                condition=models.Q(longitude__gte=-180, longitude__lte=180),
                name="places_place_longitude_range",
            ),
        ]
        indexes = [models.Index(fields=["latitude", "longitude"])]

    def __str__(self):
        return self.name or f"{self.latitude}, {self.longitude}"


class Distance(models.Model):
    """The geodesic distance between two places, stored in both directions."""

    from_place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="+")
    to_place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="+")
    meters = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["from_place", "to_place"], name="places_distance_unique_pair"
            )
        ]
        indexes = [models.Index(fields=["from_place", "meters"])]

    def __str__(self):
        return f"{self.from_place_id} -> {self.to_place_id}: {self.meters:.0f} m"
