from django import forms
from django.contrib import admin

from places.models import Place
from places.services import add_place, move_place
from sharebook.admin_tables import LargeTableAdmin
from sharebook.fields import StrictFloatFormField


class PlaceForm(forms.ModelForm):
    # The model's validators bound the range; these refuse what float() would
    # quietly reinterpret ("1_5", other scripts' digits), as the API does.
    latitude = StrictFloatFormField(min_value=-90, max_value=90)
    longitude = StrictFloatFormField(min_value=-180, max_value=180)

    class Meta:
        model = Place
        fields = ["name", "latitude", "longitude", "geonames_id"]


@admin.register(Place)
class PlaceAdmin(LargeTableAdmin):
    list_display = ["id", "name", "latitude", "longitude", "geonames_id"]
    search_fields = ["=id", "name"]
    form = PlaceForm

    def save_model(self, request, obj, form, change):
        # The admin saves inside a transaction, so the event goes with it.
        if not change:
            add_place(obj)
        elif {"latitude", "longitude"} & set(form.changed_data):
            move_place(obj)
        else:
            super().save_model(request, obj, form, change)
