import re

from rest_framework import serializers

from places.models import Place

# Plain ASCII decimals only: Python's float() would also take "1_5" (as 15),
# other scripts' digits, "nan" and "infinity".
DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class CoordinateField(serializers.FloatField):
    """Degrees as a JSON number or a plain decimal string; never a boolean."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("invalid")
        if isinstance(data, str) and not DECIMAL.fullmatch(data.strip()):
            self.fail("invalid")
        return super().to_internal_value(data)


def latitude_field(**kwargs) -> CoordinateField:
    return CoordinateField(min_value=-90, max_value=90, **kwargs)


def longitude_field(**kwargs) -> CoordinateField:
    # Out-of-range longitudes are refused, never wrapped (geopy would turn
    # 190 into -170 without a word).
    return CoordinateField(min_value=-180, max_value=180, **kwargs)


class PlaceSerializer(serializers.ModelSerializer):
    latitude = latitude_field()
    longitude = longitude_field()

    class Meta:
        model = Place
        fields = ["id", "name", "latitude", "longitude"]
