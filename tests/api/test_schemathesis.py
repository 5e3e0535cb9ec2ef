"""Schemathesis fuzzes every operation of the live schema of a real server.

The server runs in this process on 127.0.0.1 (pytest-django's live server, on
the test database). Every operation gets a bounded number of examples, signed
in with a token; each response must not be a 5xx, must have a documented
status code and content type, and must match its documented schema (headers
included). SCHEMATHESIS_MAX_EXAMPLES runs a longer pass (see the README).
"""

import collections
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from pytest_django.live_server_helper import LiveServer
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode, checks

from books.models import Book
from tests.factories import make_place, make_user

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "20"))
TOKEN_KEY = "0123456789abcdef0123456789abcdef01234567"

# At least these; operations added later are fuzzed as well.
EXPECTED_OPERATIONS = {
    "POST /api/auth/token/",
    "DELETE /api/auth/token/",
    "GET /api/books/",
    "POST /api/books/",
    "GET /api/books/{id}/",
    "PATCH /api/books/{id}/",
    "DELETE /api/books/{id}/",
    "POST /api/books/{id}/report/",
    "GET /api/devices/",
    "POST /api/devices/",
    "DELETE /api/devices/{id}/",
    "GET /api/me/",
    "PATCH /api/me/",
    "GET /api/notifications/",
    "POST /api/notifications/{id}/read/",
    "POST /api/notifications/read-all/",
    "GET /api/places/",
    "GET /api/places/{id}/",
    "POST /api/users/",
}

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@pytest.fixture
def api_server(transactional_db, settings):
    # The throttles have their own tests; here they would only hide operations.
    settings.THROTTLE_RATES = {"share": None, "sign_up": None, "token": None}
    server = LiveServer("127.0.0.1:0")
    yield server
    server.stop()


@pytest.fixture
def api_schema(api_server):
    return schemathesis.openapi.from_url(f"{api_server.url}/api/schema/")


@pytest.fixture
def fuzzer(api_server):
    """A user with a token, a place and a book of theirs, so that some ids exist."""
    user = make_user("fuzzer")
    place = make_place(48.8566, 2.3522, "Paris")
    Book.objects.create(owner=user, place=place, title="Dune", author="Herbert")
    return user


def fuzz(operation, mode: GenerationMode, user, calls: list) -> None:
    """Run the operation's examples of one mode; raise on the first failure."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,
    )
    def run(case):
        # DELETE /api/auth/token/ may have revoked it in an earlier example.
        Token.objects.get_or_create(key=TOKEN_KEY, defaults={"user": user})
        response = case.call_and_validate(
            headers={"Authorization": f"Token {TOKEN_KEY}"},
            checks=CHECKS,
            timeout=10,
        )
        calls.append((operation.label, response.status_code))

    run()


def modes_for(operation) -> list[GenerationMode]:
    """Valid input always; invalid input where the operation takes any."""
    takes_input = "requestBody" in operation.definition.raw or any(
        len(parameters) for parameters in (operation.path_parameters, operation.query)
    )
    if takes_input:
        return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    return [GenerationMode.POSITIVE]


# schemathesis.pytest.from_fixture() would run each operation as a subtest,
# but it does not work with pytest 9 (it reads a private attribute that is
# gone), so the operations are walked here.
def test_no_operation_fails_or_breaks_its_schema(api_schema, fuzzer):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    failures = {}
    calls = []

    for operation in operations:
        for mode in modes_for(operation):
            try:
                fuzz(operation, mode, fuzzer, calls)
            except (AssertionError, ExceptionGroup) as error:
                failures[f"{operation.label} ({mode})"] = str(error)

    assert {operation.label for operation in operations} >= EXPECTED_OPERATIONS
    assert failures == {}
    # Every operation was called, and most of them many times.
    assert {label for label, _ in calls} == {op.label for op in operations}
    assert len(calls) >= 10 * len(operations)
    print_summary(calls)


def print_summary(calls: list) -> None:
    """What the fuzzing did, for ``pytest -s``."""
    statuses = collections.Counter(status for _, status in calls)
    print(f"\n{len(calls)} calls; status codes: {dict(sorted(statuses.items()))}")
