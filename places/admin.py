from django.contrib import admin

from places.models import Place
from places.services import move_place
from sharebook.admin_tables import LargeTableAdmin


@admin.register(Place)
class PlaceAdmin(LargeTableAdmin):
    list_display = ["id", "name", "latitude", "longitude", "geonames_id"]
    search_fields = ["=id", "name"]

    def save_model(self, request, obj, form, change):
        # The admin saves inside a transaction, so the event goes with it.
        if change and {"latitude", "longitude"} & set(form.changed_data):
            move_place(obj)
        else:
            super().save_model(request, obj, form, change)
