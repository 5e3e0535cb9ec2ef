from django.contrib import admin

from books.models import Book, Picture


class PictureInline(admin.TabularInline):
    model = Picture
    extra = 0


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "author", "status", "owner", "place", "created_at"]
    list_filter = ["status"]
    search_fields = ["title", "author", "isbn"]
    list_select_related = ["owner", "place"]
    raw_id_fields = ["owner", "place"]
    inlines = [PictureInline]
    show_full_result_count = False
