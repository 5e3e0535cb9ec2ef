"""API fields shared by the apps."""

import re

from django import forms
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


class StrictInputMixin:
    """Refuse what a serializer would silently drop: unknown or repeated fields.

    A client that sends ``pictures[]`` instead of ``pictures``, or a field
    twice, gets a 400 naming the field rather than a book without it.
    """

    def to_internal_value(self, data):
        errors = {}
        if hasattr(data, "keys"):
            for name in data.keys():
                if name not in self.fields:
                    errors[name] = ["Unknown field."]
                elif self.fields[name].read_only:
                    errors[name] = ["This field is read-only."]
        if hasattr(data, "getlist"):
            for name, field in self.fields.items():
                repeatable = isinstance(field, serializers.ListField)
                if not repeatable and len(data.getlist(name)) > 1:
                    errors[name] = ["Give this field once."]
        if errors:
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictFloatFormField(forms.FloatField):
    """The admin's counterpart of StrictFloatField: plain ASCII decimals only."""

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            if not DECIMAL.fullmatch(value.strip()):
                raise forms.ValidationError(
                    self.error_messages["invalid"], code="invalid"
                )
        number = super().to_python(value)
        return None if number is None else number + 0.0
