"""API fields shared by the apps."""

import re

from rest_framework import serializers

# Plain ASCII decimals only: Python's float() would also take "1_5" (as 15),
# other scripts' digits, "nan" and "infinity".
DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class StrictFloatField(serializers.FloatField):
    """A JSON number or a plain decimal string; never a boolean."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("invalid")
        if isinstance(data, str) and not DECIMAL.fullmatch(data.strip()):
            self.fail("invalid")
        # Adding zero turns -0.0 into 0.0, which is what the database keeps.
        return super().to_internal_value(data) + 0.0
