"""One error shape for API clients.

Validation errors keep DRF's ``{"field": ["message"]}``; every other error is
``{"detail": "...", "code": "..."}`` with a stable, machine-readable code.
"""

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than the server accepts."
    default_code = "request_too_large"


class TooManyParts(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The request has more fields or files than the server accepts."
    default_code = "too_many_parts"


def translate(exc: Exception) -> Exception:
    """Turn Django's own refusals into API errors that DRF knows how to answer."""
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return TooManyParts()
    return exc


def handle_api_exception(exc, context):
    exc = translate(exc)

    response = exception_handler(exc, context)
    if response is None or isinstance(exc, exceptions.ValidationError):
        return response

    codes = exc.get_codes()
    response.data = {
        "detail": response.data.get("detail", str(exc)),
        "code": codes if isinstance(codes, str) else "error",
    }
    return response
