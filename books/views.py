from django.db.models import Q
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from books.models import Book
from books.serializers import BookSerializer, ShareSerializer
from books.services import share_book
from places.models import Place


class BookViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = BookSerializer

    def get_queryset(self):
        visible = Q(status=Book.Status.AVAILABLE)
        if self.action == "retrieve" and self.request.user.is_authenticated:
            visible |= Q(owner=self.request.user)
        return (
            Book.objects.filter(visible)
            .select_related("owner", "place")
            .prefetch_related("pictures")
            .order_by("-created_at", "-id")
        )

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
