from django.apps import AppConfig


class BooksConfig(AppConfig):
    name = "books"

    def ready(self):
        from books.conf import check_settings

        check_settings()
