from django.http import QueryDict
from rest_framework import serializers

from places.models import Place
from places.near import Near
from places.services import get_distance_radius_km
from sharebook.fields import StrictFloatField

NEAR_FORMAT = (
    'Enter "latitude,longitude" in decimal degrees with a dot, for example '
    "near=48.8566,2.3522."
)


def latitude_field(**kwargs) -> StrictFloatField:
    return StrictFloatField(min_value=-90, max_value=90, **kwargs)


def longitude_field(**kwargs) -> StrictFloatField:
    # Out-of-range longitudes are refused, never wrapped (geopy would turn
    # 190 into -170 without a word).
    return StrictFloatField(min_value=-180, max_value=180, **kwargs)


class PlaceSerializer(serializers.ModelSerializer):
    latitude = latitude_field()
    longitude = longitude_field()

    class Meta:
        model = Place
        fields = ["id", "name", "latitude", "longitude"]


class NearPlaceSerializer(PlaceSerializer):
    """A place with its distance in metres from a point or another place."""

    distance_m = serializers.FloatField(read_only=True)

    class Meta(PlaceSerializer.Meta):
        fields = [*PlaceSerializer.Meta.fields, "distance_m"]


class PlaceDetailSerializer(PlaceSerializer):
    nearby = NearPlaceSerializer(many=True, read_only=True)

    class Meta(PlaceSerializer.Meta):
        fields = [*PlaceSerializer.Meta.fields, "nearby"]


class PointField(serializers.Field):
    """A point written ``latitude,longitude``, as in ``?near=48.8566,2.3522``.

    Exactly two plain decimals: a comma decimal such as ``48,85,2,35`` is
    refused rather than read as some other point.
    """

    default_error_messages = {"format": NEAR_FORMAT}

    def to_internal_value(self, data) -> tuple[float, float]:
        if not isinstance(data, str):
            self.fail("format")
        parts = data.split(",")
        if len(parts) != 2:
            self.fail("format")
        return (
            read_part("Latitude", latitude_field(), parts[0]),
            read_part("Longitude", longitude_field(), parts[1]),
        )


def read_part(label: str, field: StrictFloatField, text: str) -> float:
    try:
        return field.run_validation(text.strip())
    except serializers.ValidationError as error:
        raise serializers.ValidationError(
            [f"{label}: {message}" for message in error.detail]
        ) from None


class NearQuerySerializer(serializers.Serializer):
    near = PointField(required=False)
    radius_km = StrictFloatField(required=False, min_value=0)

    def validate_radius_km(self, value: float) -> float:
        most = get_distance_radius_km()
        if value > most:
            raise serializers.ValidationError(
                f"Ensure this value is less than or equal to {most:g}."
            )
        return value

    def validate(self, attrs: dict) -> dict:
        if "radius_km" in attrs and "near" not in attrs:
            raise serializers.ValidationError(
                {"radius_km": ["Give near=latitude,longitude with radius_km."]}
            )
        return attrs


def read_near(query_params: QueryDict) -> Near | None:
    """Return the point and radius a request asks about, or None if it asks none.

    The radius defaults to the largest allowed, the distance radius stored
    between places. Raises a ValidationError naming the parameter at fault.
    """
    names = ["near", "radius_km"]
    data = {}
    for name in names:
        values = query_params.getlist(name)
        if len(values) > 1:
            raise serializers.ValidationError({name: ["Give this parameter once."]})
        if values:
            data[name] = values[0]

    query = NearQuerySerializer(data=data)
    query.is_valid(raise_exception=True)
    if "near" not in query.validated_data:
        return None
    latitude, longitude = query.validated_data["near"]
    radius_km = query.validated_data.get("radius_km", get_distance_radius_km())
    return Near(latitude, longitude, radius_km * 1000)
