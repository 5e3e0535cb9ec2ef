from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from places.backfill import (
    CHUNK_PAIRS,
    CHUNK_PLACES,
    compute_pending,
    get_pending_places,
    has_shrunk,
    remove_pairs_beyond,
)
from places.models import Place
from places.services import get_distance_radius_km


class Command(BaseCommand):
    help = (
        "Compute the missing distances between places, up to the configured "
        "radius (PLACES_DISTANCE_RADIUS_KM): after load_places, or after the "
        "radius changed (pairs beyond a smaller radius are removed first). "
        "Resumable and idempotent: stop it at any time and run it again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--chunk-places",
            type=int,
            default=CHUNK_PLACES,
            help="At most this many places are written (and marked done) at once.",
        )
        parser.add_argument(
            "--chunk-pairs",
            type=int,
            default=CHUNK_PAIRS,
            help="At most about this many pairs are held in memory before "
            "they are written.",
        )

    def handle(self, *args, chunk_places, chunk_pairs, **options):
        if chunk_places < 1 or chunk_pairs < 1:
            raise CommandError("--chunk-places and --chunk-pairs must be at least 1.")
        radius_km = get_distance_radius_km()
        quiet = options["verbosity"] == 0
        removed = 0
        if has_shrunk(radius_km):
            places = Place.objects.count()
            with tqdm(total=places, unit="place", desc="remove", disable=quiet) as bar:
                removed = remove_pairs_beyond(radius_km, chunk_places, bar.update)

        pending = get_pending_places(radius_km).count()
        with tqdm(total=pending, unit="place", desc="compute", disable=quiet) as bar:
            stats = compute_pending(
                radius_km, chunk_places, chunk_pairs, progress=bar.update
            )

        self.stdout.write(
            f"Radius {radius_km:g} km: {removed} distances beyond it removed; "
            f"{stats.places} places computed, {stats.pairs} new pairs stored "
            "(both ways)."
        )
