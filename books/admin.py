"""Moderation in the admin: books, their reports, hiding and restoring.

Every change of a book's status goes through books.moderation, the service the
rest of the project uses, so an action on many books does what acting on each
would: a log entry and an event per book, in one transaction.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse

from books import moderation
from books.models import Book, Picture, Report
from sharebook.admin_tables import LargeTableAdmin

# Books (or reports) one action may change: the confirmation page names them
# all, and the service holds their row locks for one transaction.
MOST_AT_ONCE = 500


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Kept in the history of each one.",
    )


def confirm_with_reason(model_admin, request, queryset, *, action, verb, done, apply):
    """Ask for a reason on an intermediate page, then ``apply`` to the selection.

    ``apply(ids, user, reason)`` is called once for the whole selection and
    returns what it changed. Returning None sends the admin back to the list.
    """
    ids = selected_ids(model_admin, request, queryset)
    if ids is None:
        return None
    opts = model_admin.model._meta

    form = ReasonForm(request.POST if "confirm" in request.POST else None)
    if form.is_valid():
        try:
            changed = apply(ids, request.user, form.cleaned_data["reason"])
        except moderation.ModerationError as error:
            model_admin.message_user(request, str(error), messages.ERROR)
            return None
        report_outcome(model_admin, request, done, len(changed), len(ids))
        return None

    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"{verb.capitalize()} {opts.verbose_name_plural}",
        "question": f"{verb.capitalize()} these {len(ids)} {opts.verbose_name_plural}?",
        "confirm_label": f"Yes, {verb} them",
        "objects": queryset.model.objects.filter(pk__in=ids).order_by("pk"),
        "ids": ids,
        "action": action,
        "form": form,
        "opts": opts,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": model_admin.media,
    }
    return TemplateResponse(request, "admin/books/confirm_with_reason.html", context)


def selected_ids(model_admin, request, queryset) -> list[int] | None:
    """The selection's ids, or None (with a message) if it is too large."""
    ids = list(queryset.order_by("pk").values_list("pk", flat=True)[: MOST_AT_ONCE + 1])
    if len(ids) <= MOST_AT_ONCE:
        return ids
    noun = model_admin.model._meta.verbose_name_plural
    model_admin.message_user(
        request, f"Select at most {MOST_AT_ONCE} {noun} at once.", messages.ERROR
    )
    return None


def report_outcome(model_admin, request, done, changed: int, selected: int) -> None:
    noun = model_admin.model._meta.verbose_name_plural
    message = f"{changed} {noun} {done}."
    if changed < selected:
        message += f" {selected - changed} left as they were: they cannot be {done}."
    model_admin.message_user(request, message, messages.SUCCESS)


class PictureInline(admin.TabularInline):
    model = Picture
    extra = 0


class ReportResolveForm(forms.ModelForm):
    resolve = forms.BooleanField(required=False)
    note = forms.CharField(
        required=False, max_length=500, label="resolution", help_text="Optional."
    )

    class Meta:
        model = Report
        fields = []


class ReportInline(admin.TabularInline):
    """The book's reports; tick "resolve" on open ones and save the book."""

    model = Report
    form = ReportResolveForm
    extra = 0
    can_delete = False
    fields = ["reporter", "reason", "created_at", "state", "resolve", "note"]
    readonly_fields = ["reporter", "reason", "created_at", "state"]
    ordering = ["-created_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("reporter", "resolved_by")

    @admin.display(description="state")
    def state(self, report):
        return describe_report_state(report)


def describe_report_state(report: Report) -> str:
    if report.resolved_at is None:
        return "open"
    when = report.resolved_at.strftime("%Y-%m-%d %H:%M")
    return f"resolved by {report.resolved_by} on {when}: {report.resolution}"


class ReportStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("resolved", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() in {"open", "resolved"}:
            return queryset.filter(resolved_at__isnull=self.value() == "open")
        return queryset


class OpenReportsFilter(admin.SimpleListFilter):
    title = "open reports"
    parameter_name = "reported"

    def lookups(self, request, model_admin):
        return [("yes", "With open reports"), ("no", "Without open reports")]

    def queryset(self, request, queryset):
        reported = Report.objects.filter(resolved_at=None).values("book_id")
        if self.value() == "yes":
            return queryset.filter(pk__in=reported)
        if self.value() == "no":
            return queryset.exclude(pk__in=reported)
        return queryset


@admin.register(Book)
class BookAdmin(LargeTableAdmin):
    list_display = [
        "id",
        "title",
        "author",
        "status",
        "owner",
        "place",
        "open_reports",
        "created_at",
    ]
    list_filter = ["status", OpenReportsFilter, "created_at"]
    search_fields = ["=id", "title", "author", "isbn", "owner__username"]
    list_select_related = ["owner", "place"]
    raw_id_fields = ["owner", "place"]
    # Status changes go through the actions, which log and publish them.
    readonly_fields = ["status", "created_at"]
    inlines = [PictureInline, ReportInline]
    actions = ["hide_books", "restore_books", "approve_books"]
    ordering = ["-id"]

    def get_queryset(self, request):
        # A correlated count, so only the rows shown (or sorted) are counted.
        open_reports = (
            Report.objects.filter(book=OuterRef("pk"), resolved_at=None)
            .order_by()
            .values("book")
            .annotate(n=Count("pk"))
            .values("n")
        )
        count = Subquery(open_reports, output_field=IntegerField())
        return super().get_queryset(request).annotate(open_reports=Coalesce(count, 0))

    @admin.display(description="open reports", ordering="open_reports")
    def open_reports(self, book):
        return book.open_reports

    @admin.action(description="Hide the selected books…", permissions=["change"])
    def hide_books(self, request, queryset):
        return confirm_with_reason(
            self,
            request,
            queryset,
            action="hide_books",
            verb="hide",
            done="hidden",
            apply=moderation.hide_books,
        )

    @admin.action(description="Restore the selected books…", permissions=["change"])
    def restore_books(self, request, queryset):
        return confirm_with_reason(
            self,
            request,
            queryset,
            action="restore_books",
            verb="restore",
            done="restored",
            apply=moderation.restore_books,
        )

    @admin.action(
        description="Approve the selected books waiting for review",
        permissions=["change"],
    )
    def approve_books(self, request, queryset):
        ids = selected_ids(self, request, queryset)
        if ids is None:
            return
        try:
            approved = moderation.approve_books(ids, request.user)
        except moderation.ModerationError as error:
            self.message_user(request, str(error), messages.ERROR)
            return
        report_outcome(self, request, "approved", len(approved), len(ids))

    def save_formset(self, request, form, formset, change):
        if formset.model is not Report:
            return super().save_formset(request, form, formset, change)
        # Reports change only through the service; nothing else is editable.
        # What the admin's change message reads from a saved formset.
        formset.new_objects = []
        formset.changed_objects = []
        formset.deleted_objects = []
        for report_form in formset.forms:
            data = report_form.cleaned_data
            if data.get("resolve") and report_form.instance.resolved_at is None:
                note = data.get("note") or "Resolved without action."
                moderation.resolve_reports(
                    [report_form.instance.pk], request.user, note
                )


@admin.register(Report)
class ReportAdmin(LargeTableAdmin):
    list_display = ["id", "book", "reporter", "short_reason", "created_at", "state"]
    list_filter = [ReportStateFilter, "created_at"]
    search_fields = ["=book__id", "reporter__username", "reason"]
    list_select_related = ["book", "reporter", "resolved_by"]
    raw_id_fields = ["book", "reporter"]
    readonly_fields = [
        "book",
        "reporter",
        "reason",
        "created_at",
        "resolved_at",
        "resolved_by",
        "resolution",
    ]
    actions = ["resolve_reports"]
    ordering = ["-id"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="reason")
    def short_reason(self, report):
        return report.reason if len(report.reason) <= 80 else f"{report.reason[:79]}…"

    @admin.display(description="state")
    def state(self, report):
        return describe_report_state(report)

    @admin.action(description="Resolve the selected reports…", permissions=["change"])
    def resolve_reports(self, request, queryset):
        return confirm_with_reason(
            self,
            request,
            queryset,
            action="resolve_reports",
            verb="resolve",
            done="resolved",
            apply=moderation.resolve_reports,
        )
