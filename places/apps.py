from django.apps import AppConfig
from django.conf import settings


class PlacesConfig(AppConfig):
    name = "places"

    def ready(self):
        from places.checks import check_settings

        check_settings(settings.PLACES)
