"""One error shape for API clients.

Validation errors keep DRF's ``{"field": ["message"]}``; every other error is
``{"detail": "...", "code": "..."}`` with a stable, machine-readable code.
"""

from rest_framework import exceptions
from rest_framework.views import exception_handler


def handle_api_exception(exc, context):
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException) and not isinstance(
        exc, exceptions.ValidationError
    ):
        codes = exc.get_codes()
        response.data = {
            "detail": response.data.get("detail", str(exc)),
            "code": codes if isinstance(codes, str) else "error",
        }
    return response
