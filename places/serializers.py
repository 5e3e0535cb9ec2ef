from rest_framework import serializers

from places.models import Place
from sharebook.fields import StrictFloatField


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
