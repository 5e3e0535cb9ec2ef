"""Django's own error pages, answered in the API's JSON format under /api/.

Some refusals happen before any DRF view runs: a path that matches nothing, a
bad Host header, a body too large for the CSRF middleware to read, a crash.
Django answers those with its handler views; these keep the HTML pages for the
admin and the rest of the site, and give API clients the same
``{"detail": ..., "code": ...}`` body as every other API error.
"""

from django.http import JsonResponse
from django.urls import Resolver404, resolve
from django.views import csrf, defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import APIException

from sharebook.errors import translate

API_PREFIX = "/api/"


def is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def api_error(status: int, detail: str, code: str) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status)


def bad_request(request, exception, template_name="400.html"):
    if not is_api(request):
        return defaults.bad_request(request, exception, template_name)
    # A body too large or with too many parts: the codes the API's own views use.
    refusal = translate(exception)
    if isinstance(refusal, APIException):
        return api_error(refusal.status_code, str(refusal.detail), refusal.detail.code)
    return api_error(400, "The request could not be understood.", "bad_request")


def permission_denied(request, exception, template_name="403.html"):
    if not is_api(request):
        return defaults.permission_denied(request, exception, template_name)
    return api_error(
        403,
        "You do not have permission to perform this action.",
        "permission_denied",
    )


def page_not_found(request, exception, template_name="404.html"):
    if not is_api(request):
        return defaults.page_not_found(request, exception, template_name)
    return api_error(404, "Not found.", "not_found")


def server_error(request, template_name="500.html"):
    if not is_api(request):
        return defaults.server_error(request, template_name)
    return api_error(500, "The server failed; it has been logged.", "server_error")


def csrf_failure(request, reason=""):
    if not is_api(request):
        return csrf.csrf_failure(request, reason)
    return api_error(403, f"CSRF check failed: {reason}", "csrf_failed")


@csrf_exempt
def unknown_api_path(request, path: str = ""):
    """Any /api/ path that no route took.

    As the last route it also stops APPEND_SLASH from redirecting API calls:
    a redirected POST or PATCH loses its body, so say where to go instead.
    """
    if not request.path.endswith("/"):
        with_slash = request.path + "/"
        try:
            match = resolve(with_slash)
        except Resolver404:
            match = None
        if match is not None and match.func is not unknown_api_path:
            return api_error(
                404,
                f"Not found. API paths end with a slash: {with_slash}",
                "not_found",
            )
    return api_error(404, "Not found.", "not_found")
