from django.urls import re_path
from rest_framework.routers import SimpleRouter

from books.reports import ReportBookView
from books.views import BookViewSet

router = SimpleRouter()
router.register("books", BookViewSet, basename="book")
urlpatterns = [
    *router.urls,
    re_path(
        r"^books/(?P<pk>[^/.]+)/report/$", ReportBookView.as_view(), name="book-report"
    ),
]
