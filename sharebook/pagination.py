"""Page numbers for every list of the API."""

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=N&page_size=M``.

    A page that is not a positive whole number, or past the last one, answers
    404 (DRF's "Invalid page."); a ``page_size`` that is not a positive whole
    number falls back to the default, and one above the maximum is cut to it.
    """

    page_size_query_param = "page_size"
    max_page_size = 100
