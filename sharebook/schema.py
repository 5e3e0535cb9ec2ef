"""The OpenAPI schema (drf-spectacular): error responses, and the views that
describe their bodies here rather than through a ``serializer_class``.
"""

import functools

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import permissions, serializers

from sharebook.throttling import ScopedThrottle

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class ErrorSerializer(serializers.Serializer):
    """Every error but a validation error."""

    detail = serializers.CharField()
    code = serializers.CharField()


# A 400: ``{"field": ["message"]}`` for validation, else ``detail`` and ``code``.
INVALID = {
    "type": "object",
    "additionalProperties": {},
    "example": {"title": ["This field is required."]},
}


ERRORS = {
    "400": ("The request is invalid; the body says what to fix.", INVALID),
    "401": ("No credentials, or a token that is not valid.", ErrorSerializer),
    "403": ("Signed in, but not allowed to do this.", ErrorSerializer),
    "404": (
        "No such object, or not shown to you; or an invalid page.",
        ErrorSerializer,
    ),
    "413": ("The request body is larger than the server accepts.", ErrorSerializer),
    "415": ("The body's content type is not accepted.", ErrorSerializer),
    "429": ("Too many requests: wait for Retry-After seconds.", ErrorSerializer),
}


class AutoSchema(BaseAutoSchema):
    """Document the errors an operation can answer, in the API's format."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self.get_error_codes():
            if code in responses:
                continue
            description, serializer = ERRORS[code]
            responses[code] = self._get_response_for_code(
                OpenApiResponse(serializer, description), code
            )
            if code == "429":
                responses[code]["headers"] = {
                    "Retry-After": {
                        "schema": {"type": "integer"},
                        "description": "Seconds to wait before trying again.",
                    }
                }
        return dict(sorted(responses.items()))

    def get_error_codes(self) -> list[str]:
        codes = ["400"] if self.has_input() else []
        if self.view.get_authenticators():
            codes.append("401")
        if self.method in UNSAFE_METHODS or not self.is_public():
            codes.append("403")
        if "{" in self.path or self._is_list_view():
            codes.append("404")
        if self.method in {"POST", "PUT", "PATCH"}:
            codes += ["413", "415"]
        if any(
            isinstance(throttle, ScopedThrottle) and self.method in throttle.methods
            for throttle in self.view.get_throttles()
        ):
            codes.append("429")
        return codes

    def has_input(self) -> bool:
        return self.method in {"POST", "PUT", "PATCH"} or self._is_list_view()

    def is_public(self) -> bool:
        return all(
            isinstance(p, (permissions.AllowAny, permissions.IsAuthenticatedOrReadOnly))
            for p in self.view.get_permissions()
        )


def id_in_path(description: str) -> OpenApiParameter:
    return OpenApiParameter("id", int, OpenApiParameter.PATH, description=description)


class BookViewSchema(OpenApiViewExtension):
    target_class = "books.views.BookViewSet"

    def view_replacement(self):
        from books.serializers import (
            BookSerializer,
            BookUpdateSerializer,
            ShareSerializer,
        )

        near = OpenApiParameter(
            "near",
            str,
            description=(
                "latitude,longitude in decimal degrees with a dot "
                "(48.8566,2.3522): lists the books nearest first, each with "
                "distance_m, its geodesic distance in metres."
            ),
        )
        radius_km = OpenApiParameter(
            "radius_km",
            float,
            description="How far from near to look, in km (at most the "
            "server's PLACES_DISTANCE_RADIUS_KM, its default). Needs near.",
        )

        class Fixed(self.target_class):
            @extend_schema(parameters=[near, radius_km])
            def list(self, request, *args, **kwargs):
                return super().list(request, *args, **kwargs)

            @extend_schema(
                request={"multipart/form-data": ShareSerializer},
                responses={201: BookSerializer},
                description="Share a book: multipart, one `pictures` part per "
                "picture (kept in upload order). Give `place` (an id) or "
                "`latitude` and `longitude`.",
            )
            def create(self, request, *args, **kwargs):
                return super().create(request, *args, **kwargs)

            @extend_schema(parameters=[id_in_path("The book's id.")])
            def retrieve(self, request, *args, **kwargs):
                return super().retrieve(request, *args, **kwargs)

            @extend_schema(
                parameters=[id_in_path("The book's id.")],
                request=BookUpdateSerializer,
                responses={200: BookSerializer},
                description="Change a book's text; its owner only.",
            )
            def partial_update(self, request, *args, **kwargs):
                return super().partial_update(request, *args, **kwargs)

            @extend_schema(
                parameters=[id_in_path("The book's id.")],
                description="Withdraw a book (it is no longer shown); its owner "
                "only. Withdrawing a withdrawn book changes nothing.",
            )
            def destroy(self, request, *args, **kwargs):
                return super().destroy(request, *args, **kwargs)

        return Fixed


class ReportBookViewSchema(OpenApiViewExtension):
    target_class = "books.reports.ReportBookView"

    def view_replacement(self):
        from books.reports import ReportSerializer

        class Fixed(self.target_class):
            @extend_schema(
                operation_id="books_report_create",
                parameters=[id_in_path("The reported book's id.")],
                request=ReportSerializer,
                responses={
                    201: ReportSerializer,
                    409: OpenApiResponse(
                        ErrorSerializer, "You have already reported this book."
                    ),
                },
            )
            def post(self, request, *args, **kwargs):
                return super().post(request, *args, **kwargs)

        return Fixed


@functools.cache
def me_serializers():
    """``/api/me/``'s bodies, made once: the schema names each component once."""
    from notifications.serializers import PreferenceSerializer

    me = inline_serializer(
        "Me",
        {
            "id": serializers.IntegerField(),
            "username": serializers.CharField(),
            "notifications": PreferenceSerializer(),
        },
    )
    change = inline_serializer(
        "MeChange", {"notifications": PreferenceSerializer(partial=True)}
    )
    return me, change


class MeViewSchema(OpenApiViewExtension):
    target_class = "notifications.views.MeView"

    def view_replacement(self):
        me, change = me_serializers()

        class Fixed(self.target_class):
            @extend_schema(responses={200: me})
            def get(self, request, *args, **kwargs):
                return super().get(request, *args, **kwargs)

            @extend_schema(request=change, responses={200: me})
            def patch(self, request, *args, **kwargs):
                return super().patch(request, *args, **kwargs)

        return Fixed


class DeviceViewSchema(OpenApiViewExtension):
    target_class = "notifications.views.DeviceViewSet"

    def view_replacement(self):
        class Fixed(self.target_class):
            @extend_schema(parameters=[id_in_path("The device's id.")])
            def destroy(self, request, *args, **kwargs):
                return super().destroy(request, *args, **kwargs)

        return Fixed


class InboxViewSchema(OpenApiViewExtension):
    target_class = "notifications.views.InboxViewSet"

    def view_replacement(self):
        class Fixed(self.target_class):
            @extend_schema(
                parameters=[id_in_path("The notification's id.")], request=None
            )
            def read(self, request, *args, **kwargs):
                return super().read(request, *args, **kwargs)

            @extend_schema(
                request=None,
                responses={
                    200: inline_serializer(
                        "ReadAll",
                        {
                            "marked_read": serializers.IntegerField(),
                            "unread": serializers.IntegerField(),
                        },
                    )
                },
            )
            def read_all(self, request, *args, **kwargs):
                return super().read_all(request, *args, **kwargs)

        return Fixed


def add_list_extras(result, generator, request, public):
    """Fields that list views add to DRF's page, which the generator cannot see.

    A spectacular post-processing hook (SPECTACULAR_SETTINGS).
    """
    schemas = result.get("components", {}).get("schemas", {})
    inbox = schemas.get("PaginatedInboxItemList")
    if inbox:
        inbox["properties"]["unread"] = {
            "type": "integer",
            "description": "How many of my notifications are unread.",
        }
        inbox["required"].append("unread")
    distance = {
        "type": "number",
        "format": "double",
        "readOnly": True,
        "description": "Metres from the point of ?near= (only with it).",
    }
    for name in ("Book", "Place"):
        if name in schemas:
            schemas[name]["properties"]["distance_m"] = distance
    return result
