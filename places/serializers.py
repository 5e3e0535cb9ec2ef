from rest_framework import serializers

from places.models import Place


def latitude_field(**kwargs) -> serializers.FloatField:
    """Latitude in degrees; DRF's FloatField already refuses NaN and infinity."""
    return serializers.FloatField(min_value=-90, max_value=90, **kwargs)


def longitude_field(**kwargs) -> serializers.FloatField:
    # Out-of-range longitudes are refused, never wrapped (geopy would turn
    # 190 into -170 without a word).
    return serializers.FloatField(min_value=-180, max_value=180, **kwargs)


class PlaceSerializer(serializers.ModelSerializer):
    latitude = latitude_field()
    longitude = longitude_field()

    class Meta:
        model = Place
        fields = ["id", "name", "latitude", "longitude"]
