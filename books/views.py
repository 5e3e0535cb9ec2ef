from django.db.models import Q
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.filters import SearchFilter
from rest_framework.response import Response

from books.models import Book
from books.permissions import IsOwnerOrReadOnly
from books.serializers import (
    BookSerializer,
    BookUpdateSerializer,
    NearBookSerializer,
    ShareSerializer,
)
from books.services import share_book, update_book, withdraw_book
from places.models import Place
from places.near import fetch_page
from places.serializers import read_near
from sharebook.throttling import ShareThrottle


class BookSearch(SearchFilter):
    """``?search=`` on title and author: every word must match one of them."""

    def get_search_terms(self, request):
        try:
            return super().get_search_terms(request)
        except ValidationError as error:
            # Name the parameter, as every other 400 of the API does.
            raise ValidationError({self.search_param: error.detail}) from None


ONE_BOOK_ACTIONS = {"retrieve", "partial_update", "destroy"}


class BookViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Books, newest first; ``?near=LAT,LON&radius_km=R`` lists them nearest first."""

    serializer_class = BookSerializer
    permission_classes = [permissions.IsAuthenticatedOrReadOnly, IsOwnerOrReadOnly]
    filter_backends = [BookSearch]
    throttle_classes = [ShareThrottle]  # counts shares (POST) only
    search_fields = ["title", "author"]

    def get_queryset(self):
        visible = Q(status=Book.Status.AVAILABLE)
        user = self.request.user
        # One book by id: its owner and staff see it whatever its status.
        if self.action in ONE_BOOK_ACTIONS and user.is_authenticated:
            visible = Q() if user.is_staff else visible | Q(owner=user)
        return (
            Book.objects.filter(visible)
            .select_related("owner", "place")
            .prefetch_related("pictures")
            .order_by("-created_at", "-id")
        )

    def list(self, request, *args, **kwargs):
        near = read_near(request.query_params)
        if near is None:
            return super().list(request, *args, **kwargs)

        books = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(near.rank(books, via="place__"))
        serializer = NearBookSerializer(
            fetch_page(books, page), many=True, context=self.get_serializer_context()
        )
        return self.get_paginated_response(serializer.data)

    def create(self, request):
        share = ShareSerializer(data=request.data)
        share.is_valid(raise_exception=True)
        data = share.validated_data
        try:
            book = share_book(
                request.user,
                title=data["title"],
                author=data["author"],
                isbn=data.get("isbn", ""),
                description=data.get("description", ""),
                place=share.get_place_input(),
                pictures=data.get("pictures", []),
            )
        except Place.DoesNotExist:
            raise ValidationError({"place": ["This place no longer exists."]}) from None
        body = BookSerializer(book, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        book = self.get_object()
        changes = BookUpdateSerializer(data=request.data, partial=True)
        changes.is_valid(raise_exception=True)
        book = update_book(book, **changes.validated_data)
        body = BookSerializer(book, context=self.get_serializer_context()).data
        return Response(body)

    def destroy(self, request, pk=None):
        book = self.get_object()
        try:
            withdraw_book(book.pk, request.user)
        except Book.DoesNotExist:
            # Deleted since get_object() found it.
            raise NotFound() from None
        return Response(status=status.HTTP_204_NO_CONTENT)
