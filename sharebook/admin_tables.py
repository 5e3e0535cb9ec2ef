"""Admin pages that stay fast on tables of millions of rows.

Django's admin counts the whole filtered table for every list page, lists
every related row on a delete confirmation, and offers facets that count each
filter choice. ``LargeTableAdmin`` bounds all three.
"""

from collections import Counter
from itertools import islice

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import router
from django.db.models import QuerySet
from django.db.models.deletion import Collector, ProtectedError, RestrictedError
from django.utils.functional import cached_property

# Rows a list page counts at most: 100 pages of 100.
COUNT_CAP = 10_000
# Objects named on a delete confirmation; the rest are counted.
NAMED_ON_DELETE = 20


class CappedPaginator(Paginator):
    """Counts at most ``COUNT_CAP`` rows, so a page costs the same on any table.

    Past the cap the pages stop there: filters and search reach the rest.
    """

    capped = False

    @cached_property
    def count(self) -> int:
        # Neither order nor annotations change a count; without them the
        # database stops reading after the cap.
        rows = self.object_list.order_by().values("pk")
        counted = rows[: COUNT_CAP + 1].count()
        self.capped = counted > COUNT_CAP
        return min(counted, COUNT_CAP)


class LargeTableAdmin(admin.ModelAdmin):
    paginator = CappedPaginator
    show_full_result_count = False
    # Facets count the rows behind each filter choice: a scan per choice.
    show_facets = admin.ShowFacets.NEVER

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        if changelist.paginator.capped:
            changelist.title = (
                f"{changelist.title} (more than {COUNT_CAP:,} match: the pages "
                "show the first ones; filter or search to reach the others)"
            )
        return changelist

    def get_actions(self, request):
        # One delete of an unbounded selection would hold a transaction for
        # as long as it takes; the delete page of one object stays.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_deleted_objects(self, objs, request):
        return summarize_deletion(self, objs, request)


def summarize_deletion(model_admin, objs, request):
    """What deleting ``objs`` takes with it, counted rather than listed.

    Returns what ``ModelAdmin.get_deleted_objects`` does: objects to name,
    counts by model, models the user may not delete, and what protects them.
    Cascades that Django deletes with one query are counted with one query,
    so no related row is loaded to be shown.
    """
    collector = Collector(using=router.db_for_write(model_admin.model))
    try:
        collector.collect(objs)
    except ProtectedError as error:
        return [], {}, set(), name_some(error.protected_objects)
    except RestrictedError as error:
        return [], {}, set(), name_some(error.restricted_objects)

    counts = Counter()
    for model, instances in collector.data.items():
        counts[model] += len(instances)
    for rows in collector.fast_deletes:
        counts[rows.model] += rows.count()

    registry = model_admin.admin_site._registry
    perms_needed = {
        model._meta.verbose_name
        for model in counts
        if model in registry and not registry[model].has_delete_permission(request)
    }
    model_count = {
        model._meta.verbose_name_plural: n for model, n in counts.items() if n
    }
    return name_some(objs), model_count, perms_needed, []


def name_some(objects) -> list[str]:
    if isinstance(objects, QuerySet):
        objects = objects[: NAMED_ON_DELETE + 1]
    objects = list(islice(objects, NAMED_ON_DELETE + 1))
    named = [f"{obj._meta.verbose_name}: {obj}" for obj in objects[:NAMED_ON_DELETE]]
    if len(objects) > NAMED_ON_DELETE:
        named.append("and more")
    return named
