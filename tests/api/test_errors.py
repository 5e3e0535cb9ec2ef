"""Every error under /api/ answers JSON, including Django's refusals before a view.

Pages outside /api/ (the admin, the media) keep Django's HTML pages.
"""

import json

import pytest
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.test import Client, RequestFactory

from books.models import Book
from sharebook import error_views
from tests.books.sharing import share_data
from tests.factories import jpeg_file, make_user

pytestmark = pytest.mark.django_db

JSON = "application/json"


def assert_json_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == JSON
    body = json.loads(response.content)
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def assert_html(response, status: int) -> None:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "path", ["/api/nothing/", "/api/books/1/nothing/", "/api/", "/api/%E2%9C%93/"]
)
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_an_unknown_api_path_is_a_json_404(anonymous_client, path, method):
    response = getattr(anonymous_client, method)(path)

    assert assert_json_error(response, 404, "not_found")["detail"] == "Not found."


def test_a_post_without_its_trailing_slash_says_where_to_go_and_writes_nothing(
    client,
):
    response = client.post("/api/books", share_data())

    body = assert_json_error(response, 404, "not_found")
    assert body["detail"] == "Not found. API paths end with a slash: /api/books/"
    assert Book.objects.count() == 0


def test_a_get_without_its_trailing_slash_is_not_redirected(anonymous_client):
    response = anonymous_client.get("/api/places")

    body = assert_json_error(response, 404, "not_found")
    assert body["detail"].endswith("/api/places/")


def test_a_page_outside_the_api_keeps_the_html_404(anonymous_client):
    assert_html(anonymous_client.get("/no-such-page/"), 404)


def test_a_host_not_allowed_is_a_json_400_for_the_api(anonymous_client):
    response = anonymous_client.get("/api/books/", HTTP_HOST="evil.example")

    assert_json_error(response, 400, "bad_request")


def test_a_host_not_allowed_keeps_the_html_400_elsewhere(anonymous_client):
    assert_html(anonymous_client.get("/admin/", HTTP_HOST="evil.example"), 400)


def test_a_session_write_without_csrf_token_is_a_json_403():
    user = make_user()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)

    response = browser.post("/api/books/", share_data())

    body = assert_json_error(response, 403, "permission_denied")
    assert "CSRF" in body["detail"]
    assert Book.objects.count() == 0


@pytest.mark.parametrize(
    ("handler", "args", "status", "code"),
    [
        (error_views.bad_request, [TooManyFieldsSent()], 400, "too_many_parts"),
        (error_views.bad_request, [RequestDataTooBig()], 413, "request_too_large"),
        (error_views.permission_denied, [Exception()], 403, "permission_denied"),
        (error_views.page_not_found, [Exception()], 404, "not_found"),
        (error_views.server_error, [], 500, "server_error"),
        (error_views.csrf_failure, ["Origin checking failed"], 403, "csrf_failed"),
    ],
)
def test_django_handlers_answer_json_under_api_and_html_elsewhere(
    handler, args, status, code
):
    factory = RequestFactory()

    api = handler(factory.post("/api/books/"), *args)
    site = handler(factory.post("/admin/login/"), *args)

    assert_json_error(api, status, code)
    if status != 413:
        assert_html(site, status)


@pytest.mark.urls("tests.api.failing_urls")
def test_a_crash_under_api_answers_json_and_elsewhere_html():
    browser = Client(raise_request_exception=False)

    assert_json_error(browser.get("/api/crash/"), 500, "server_error")
    assert_html(browser.get("/crash/"), 500)


@pytest.mark.parametrize(
    ("path", "status"), [("/api/books/", 200), ("/api/books/999/", 404)]
)
def test_a_browser_gets_json_too(anonymous_client, path, status):
    response = anonymous_client.get(
        path, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8"
    )

    assert response.status_code == status
    assert response["Content-Type"] == JSON


def test_an_accept_header_the_api_cannot_answer_is_a_json_406(anonymous_client):
    response = anonymous_client.get("/api/books/", HTTP_ACCEPT="text/html")

    assert_json_error(response, 406, "not_acceptable")


def test_too_many_fields_is_a_json_400_and_writes_nothing(client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    data = share_data(**{f"extra{n}": "x" for n in range(10)})

    response = client.post("/api/books/", data)

    assert_json_error(response, 400, "too_many_parts")
    assert Book.objects.count() == 0


def test_too_many_files_is_a_json_400_and_writes_nothing(client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    pictures = [jpeg_file(f"{n}.jpg") for n in range(3)]

    response = client.post("/api/books/", share_data(pictures=pictures))

    assert_json_error(response, 400, "too_many_parts")
    assert Book.objects.count() == 0


@pytest.mark.parametrize("url", ["/api/books/", "/api/users/", "/api/auth/token/"])
def test_a_body_too_large_is_a_json_413(client, settings, url):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"title": "x" * 2000, "username": "x" * 2000, "password": "y"}

    response = client.post(url, body, format="json")

    assert_json_error(response, 413, "request_too_large")
    assert Book.objects.count() == 0
