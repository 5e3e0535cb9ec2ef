"""The OpenAPI schema at /api/schema/ and the docs at /api/docs/."""

import re

import pytest
import yaml
from django.contrib.staticfiles import finders

from tests.conftest import run_manage

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(anonymous_client) -> dict:
    response = anonymous_client.get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    return yaml.safe_load(response.content)


def test_the_schema_is_openapi_3_and_lists_the_api(schema):
    assert schema["openapi"].startswith("3.")
    assert {"/api/books/", "/api/users/", "/api/auth/token/", "/api/me/"} <= set(
        schema["paths"]
    )
    assert "/api/schema/" not in schema["paths"]


def test_the_share_is_multipart_with_repeated_pictures(schema):
    share = schema["paths"]["/api/books/"]["post"]
    body = share["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
    fields = schema["components"]["schemas"]["ShareRequest"]
    assert fields["properties"]["pictures"] == {
        "type": "array",
        "items": {"type": "string", "format": "binary"},
    }
    assert set(fields["required"]) == {"title", "author"}
    assert share["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Book"
    }


def test_errors_are_documented_in_the_api_format(schema):
    share = schema["paths"]["/api/books/"]["post"]["responses"]
    assert set(share) == {"201", "400", "401", "403", "413", "415", "429"}
    error = {"$ref": "#/components/schemas/Error"}
    assert share["401"]["content"]["application/json"]["schema"] == error
    assert share["429"]["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    assert sorted(schema["components"]["schemas"]["Error"]["required"]) == [
        "code",
        "detail",
    ]
    hidden = schema["paths"]["/api/books/{id}/"]["get"]["responses"]
    assert hidden["404"]["content"]["application/json"]["schema"] == error


def test_lists_document_pages_and_the_near_and_search_parameters(schema):
    listing = schema["paths"]["/api/books/"]["get"]
    names = {parameter["name"] for parameter in listing["parameters"]}
    assert names == {"page", "page_size", "near", "radius_km", "search"}


def test_token_revoke_and_sign_up_are_documented(schema):
    token = schema["paths"]["/api/auth/token/"]
    assert set(token["delete"]["responses"]) == {"204", "401", "403"}
    sign_up = schema["paths"]["/api/users/"]["post"]["responses"]
    assert "201" in sign_up and "429" in sign_up


def test_the_docs_page_loads_nothing_from_another_host(anonymous_client):
    response = anonymous_client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), asset
    assert "//cdn" not in html and "https://" not in html
    assert '"/api/schema/"' in html


def test_the_schema_generates_without_warnings(settings, tmp_path):
    result = run_manage(
        settings,
        "spectacular",
        "--fail-on-warn",
        "--file",
        str(tmp_path / "schema.yaml"),
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3.")


def test_fields_added_to_pages_are_documented(schema):
    components = schema["components"]["schemas"]
    inbox = components["PaginatedInboxItemList"]
    assert inbox["properties"]["unread"]["type"] == "integer"
    assert "unread" in inbox["required"]
    assert components["Book"]["properties"]["distance_m"]["readOnly"] is True
    assert "distance_m" not in components["Book"].get("required", [])


def test_owner_edits_are_documented(schema):
    book = schema["paths"]["/api/books/{id}/"]
    assert "put" not in book
    assert set(book["patch"]["responses"]) == {
        "200",
        "400",
        "401",
        "403",
        "404",
        "413",
        "415",
    }
    patched = book["patch"]["requestBody"]["content"]["application/json"]["schema"]
    fields = schema["components"]["schemas"][patched["$ref"].split("/")[-1]]
    assert set(fields["properties"]) == {"title", "author", "isbn", "description"}
    assert "required" not in fields
    assert set(book["delete"]["responses"]) == {"204", "401", "403", "404"}
