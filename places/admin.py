from django.contrib import admin

from places.models import Place


@admin.register(Place)
class PlaceAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "latitude", "longitude", "geonames_id"]
    search_fields = ["name"]
    show_full_result_count = False
