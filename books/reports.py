"""``POST /api/books/{id}/report/``: a signed-in user flags a book for moderators."""

from rest_framework import permissions, serializers, status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from books.models import Book, Report
from books.moderation import AlreadyReported, report_book


class ReportConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "You have already reported this book."
    default_code = "already_reported"


class ReportSerializer(serializers.ModelSerializer):
    reason = serializers.CharField(max_length=1000)

    class Meta:
        model = Report
        fields = ["id", "book", "reason", "created_at"]
        read_only_fields = ["id", "book", "created_at"]


class ReportBookView(APIView):
    """Report a shown book, once per user; moderators see it in the admin."""

    permission_classes = [permissions.IsAuthenticated]

    def post(self, request, pk: str):
        book_id = parse_id(pk)
        serializer = ReportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            report = report_book(
                book_id, request.user, serializer.validated_data["reason"]
            )
        except Book.DoesNotExist:
            raise NotFound("No shown book has this id.") from None
        except AlreadyReported:
            raise ReportConflict() from None
        return Response(ReportSerializer(report).data, status=status.HTTP_201_CREATED)


def parse_id(value: str) -> int:
    """The book id of the path; anything but a plain positive number is not found."""
    if not (value.isascii() and value.isdigit()):
        raise NotFound("No shown book has this id.")
    return int(value)
