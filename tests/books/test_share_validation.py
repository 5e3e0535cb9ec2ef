"""A share the API refuses answers 400 with a field error and writes nothing.

C2 (its validation half), C3, C4 and C5: every rejection here is checked for
its status, the field the error is reported on, and the absence of rows,
outbox entries, broker tasks and files.
"""

import io
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.books.sharing import (
    assert_nothing_written,
    image_file,
    post_share,
    share_data,
)
from tests.factories import jpeg_bytes, jpeg_file, make_place

pytestmark = pytest.mark.django_db


def assert_refused(response, field: str) -> dict:
    """Assert a JSON 400 that names ``field``; return the body."""
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert field in body, body
    return body


def picture_errors(body: dict, index: int) -> list[str]:
    """The messages for one picture of a list (DRF keys them by index)."""
    return body["pictures"][str(index)]


def two_good_pictures() -> list[SimpleUploadedFile]:
    return [jpeg_file("a.jpg", width=40, height=30), jpeg_file("b.jpg")]


# A rolled-back share leaves nothing behind (C2, validation half)


def test_a_third_picture_of_random_bytes_refuses_the_whole_share(client, media_root):
    noise = random.Random(2).randbytes(4096)
    garbage = SimpleUploadedFile("c.jpg", noise, content_type="image/jpeg")
    data = share_data(pictures=[*two_good_pictures(), garbage])

    response = post_share(client, data)

    body = assert_refused(response, "pictures")
    assert list(body["pictures"]) == ["2"]
    assert "valid image" in picture_errors(body, 2)[0]
    assert_nothing_written(media_root)


# Bytes that are not an image, whatever the file name (C4)


def corrupt_jpeg() -> bytes:
    """A real JPEG header followed by noise: Pillow can read the size, not the data."""
    return jpeg_bytes(64, 64)[:200] + random.Random(6).randbytes(2000)


@pytest.mark.parametrize(
    "name, content",
    [
        ("x.png", b"just some text, not a picture\n"),
        ("x.gif", b"GIF89a but nothing after the magic"),
        ("c.jpg", b"<html><body>not a jpeg</body></html>"),
        ("c.jpg", b""),
        ("c.jpg", corrupt_jpeg()),
        ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>'),
        ("x.pdf", b"%PDF-1.4\n%%EOF\n"),
    ],
    ids=[
        "text-as-png",
        "gif-magic-only",
        "html-as-jpg",
        "empty",
        "corrupt",
        "svg",
        "pdf",
    ],
)
def test_a_file_that_is_not_an_image_is_refused(client, media_root, name, content):
    data = share_data(pictures=[jpeg_file("a.jpg"), SimpleUploadedFile(name, content)])

    response = post_share(client, data)

    body = assert_refused(response, "pictures")
    assert list(body["pictures"]) == ["1"]
    assert picture_errors(body, 1)
    assert_nothing_written(media_root)


def test_a_real_image_with_an_unknown_extension_is_refused(client, media_root):
    upload = image_file("picture.txt", "PNG")

    response = post_share(client, share_data(pictures=[upload]))

    body = assert_refused(response, "pictures")
    assert "extension" in picture_errors(body, 0)[0]
    assert_nothing_written(media_root)


# Upload limits answer in the API's own error format (C4)


def noisy_jpeg_bytes() -> bytes:
    """A JPEG that does not compress away: several kilobytes, unlike a flat one."""
    noise = random.Random(4).randbytes(64 * 64 * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (64, 64), noise).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def test_one_picture_more_than_the_maximum_is_refused(client, settings, media_root):
    count = settings.BOOKS["MAX_PICTURES"] + 1
    pictures = [jpeg_file(f"{i}.jpg") for i in range(count)]

    response = post_share(client, share_data(pictures=pictures))

    body = assert_refused(response, "pictures")
    assert body["pictures"] == [
        f"At most {count - 1} pictures per book; {count} were sent."
    ]
    assert_nothing_written(media_root)


@pytest.mark.parametrize("over_by", [1, 1000])
def test_a_picture_over_the_size_limit_is_refused(
    client, settings, media_root, over_by
):
    big = noisy_jpeg_bytes()
    limit = len(big) - over_by
    settings.BOOKS = {**settings.BOOKS, "MAX_PICTURE_BYTES": limit}
    pictures = [jpeg_file("small.jpg", width=2, height=2)]
    pictures.append(SimpleUploadedFile("big.jpg", big))

    response = post_share(client, share_data(pictures=pictures))

    body = assert_refused(response, "pictures")
    assert body["pictures"] == [f"big.jpg is {len(big)} bytes; the limit is {limit}."]
    assert_nothing_written(media_root)


@pytest.mark.parametrize(
    "limits, count",
    [({"MAX_PICTURES": 2}, 3), ({"MIN_PICTURES": 2}, 1)],
    ids=["max", "min"],
)
def test_picture_count_limits_follow_the_settings_in_force(
    client, settings, media_root, limits, count
):
    settings.BOOKS = {**settings.BOOKS, **limits}
    pictures = [jpeg_file(f"{i}.jpg") for i in range(count)]

    response = post_share(client, share_data(pictures=pictures))

    assert_refused(response, "pictures")
    assert_nothing_written(media_root)


def test_too_many_files_in_one_request_is_a_json_error(client, settings, media_root):
    count = settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1
    tiny = jpeg_bytes(2, 2)
    pictures = [SimpleUploadedFile(f"{i}.jpg", tiny) for i in range(count)]

    response = post_share(client, share_data(pictures=pictures))

    assert response.status_code in (400, 413)
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) >= {"detail", "code"}
    assert_nothing_written(media_root)


@pytest.mark.parametrize("format", ["multipart", "json"])
def test_a_body_over_the_data_limit_is_a_json_error(
    client, settings, media_root, format
):
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = post_share(client, share_data(description=padding), format=format)

    assert response.status_code in (400, 413)
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) >= {"detail", "code"}
    assert_nothing_written(media_root)


# Missing pictures, or a shape the API does not accept (C3)


@pytest.mark.parametrize(
    "pictures",
    [None, []],
    ids=["absent", "empty-list"],
)
@pytest.mark.parametrize("format", ["multipart", "json"])
def test_missing_pictures_are_refused_when_required(
    client, settings, media_root, pictures, format
):
    settings.BOOKS = {**settings.BOOKS, "MIN_PICTURES": 1}
    data = share_data() if pictures is None else share_data(pictures=pictures)

    response = post_share(client, data, format=format)

    body = assert_refused(response, "pictures")
    assert body["pictures"] == ["At least 1 picture(s) are required."]
    assert_nothing_written(media_root)


def test_a_picture_sent_as_text_is_refused(client, media_root):
    response = post_share(client, share_data(pictures="a.jpg"))

    body = assert_refused(response, "pictures")
    assert "not a file" in picture_errors(body, 0)[0]
    assert_nothing_written(media_root)


def test_a_text_value_among_picture_files_is_refused(client, media_root):
    data = share_data(pictures=[jpeg_file("a.jpg"), "b.jpg"])

    response = post_share(client, data)

    body = assert_refused(response, "pictures")
    assert any("not a file" in messages[0] for messages in body["pictures"].values())
    assert_nothing_written(media_root)


@pytest.mark.parametrize(
    "pictures, message",
    [
        (["aGVsbG8="], "not a file"),
        ("aGVsbG8=", "Expected a list"),
        ({"0": "aGVsbG8="}, "Expected a list"),
        (None, "may not be null"),
    ],
    ids=["list-of-strings", "string", "object", "null"],
)
def test_json_pictures_that_are_not_files_are_refused(
    client, media_root, pictures, message
):
    response = post_share(client, share_data(pictures=pictures), format="json")

    body = assert_refused(response, "pictures")
    assert message in str(body["pictures"])
    assert_nothing_written(media_root)


@pytest.mark.parametrize(
    "body",
    ["[]", '["Dune"]', '"Dune"', "42", "null"],
    ids=["empty-list", "list", "string", "number", "null"],
)
def test_a_json_body_that_is_not_an_object_is_refused(client, media_root, body):
    response = post_share(client, body, content_type="application/json")

    assert_refused(response, "non_field_errors")
    assert_nothing_written(media_root)


def test_malformed_json_is_a_parse_error(client, media_root):
    response = post_share(client, '{"title": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert_nothing_written(media_root)


def test_an_unsupported_content_type_is_refused(client, media_root):
    response = post_share(client, "title=Dune", content_type="text/plain")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert_nothing_written(media_root)


# Out-of-range or unreadable coordinates are refused, not wrapped (C5)

BAD_LATITUDES = [
    "91",
    "-91",
    "90.0000001",
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "1e400",
    "1,5",
    "1_5",
    "",
    " ",
    "abc",
    "0x10",
]
BAD_LONGITUDES = ["190", "-180.0001", "180.0000001", "NaN", "-inf", "1,5", "", "abc"]


@pytest.mark.parametrize("latitude", BAD_LATITUDES)
def test_a_bad_latitude_is_refused(client, media_root, latitude):
    data = share_data(latitude=latitude, pictures=[jpeg_file()])

    response = post_share(client, data)

    assert_refused(response, "latitude")
    assert_nothing_written(media_root)


@pytest.mark.parametrize("longitude", BAD_LONGITUDES)
def test_a_bad_longitude_is_refused(client, media_root, longitude):
    data = share_data(longitude=longitude, pictures=[jpeg_file()])

    response = post_share(client, data)

    assert_refused(response, "longitude")
    assert_nothing_written(media_root)


@pytest.mark.parametrize(
    "field, value",
    [
        ("latitude", 91),
        ("longitude", -190.5),
        ("latitude", "NaN"),
        ("latitude", True),
        ("longitude", False),
        ("latitude", [1]),
        ("longitude", {"value": 1}),
        ("latitude", None),
    ],
)
def test_a_bad_json_coordinate_is_refused(client, media_root, field, value):
    data = share_data(latitude=12.5, longitude=13.5) | {field: value}

    response = post_share(client, data, format="json")

    assert_refused(response, field)
    assert_nothing_written(media_root)


# Choosing the place


@pytest.mark.parametrize("place", ["999999", "abc", "-1"])
def test_an_unknown_place_id_is_refused(client, media_root, place):
    data = {"title": "Dune", "author": "Frank Herbert", "place": place}

    response = post_share(client, data)

    assert_refused(response, "place")
    assert_nothing_written(media_root)


def test_a_place_id_and_coordinates_together_are_refused(client, media_root):
    place = make_place(1.0, 2.0)

    response = post_share(client, share_data(place=place.pk))

    body = assert_refused(response, "place")
    assert "not both" in body["place"][0]
    assert_nothing_written(media_root, places=1)


def test_a_share_without_a_place_is_refused(client, media_root):
    data = {"title": "Dune", "author": "Frank Herbert", "place_name": "Shelf"}

    response = post_share(client, data)

    assert_refused(response, "place")
    assert_nothing_written(media_root)


@pytest.mark.parametrize(
    "given, missing",
    [("latitude", "longitude"), ("longitude", "latitude")],
)
def test_half_a_point_is_refused_on_the_missing_half(
    client, media_root, given, missing
):
    data = share_data()
    del data[missing]

    response = post_share(client, data)

    body = assert_refused(response, missing)
    assert given in body[missing][0]
    assert_nothing_written(media_root)


def test_a_place_name_over_200_characters_is_refused(client, media_root):
    response = post_share(client, share_data(place_name="p" * 201))

    assert_refused(response, "place_name")
    assert_nothing_written(media_root)


# ISBNs


@pytest.mark.parametrize(
    "isbn",
    [
        "978-3-16-148410-1",
        "0306406153",
        "080442957Y",
        "X804429570",
        "12345",
        "977-3-16-148410-0",
        "97831614841000",
        "isbn 9783161484100",
        "０３０６４０６１５２",
        "978٣١٦١٤٨٤١٠٠",
    ],
)
def test_an_invalid_isbn_is_refused(client, media_root, isbn):
    response = post_share(client, share_data(isbn=isbn))

    assert_refused(response, "isbn")
    assert_nothing_written(media_root)


# Title and author


@pytest.mark.parametrize("field", ["title", "author"])
@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "\t\n", "x" * 301],
    ids=["missing", "blank", "spaces", "whitespace", "301-chars"],
)
def test_a_missing_blank_or_long_title_or_author_is_refused(
    client, media_root, field, value
):
    data = share_data(pictures=[jpeg_file()])
    if value is None:
        del data[field]
    else:
        data[field] = value

    response = post_share(client, data)

    assert_refused(response, field)
    assert_nothing_written(media_root)


@pytest.mark.parametrize("field", ["title", "author", "description", "place_name"])
@pytest.mark.parametrize("format", ["multipart", "json"])
def test_a_nul_character_is_refused(client, media_root, field, format):
    data = share_data(**{field: "Du\x00ne"})

    response = post_share(client, data, format=format)

    body = assert_refused(response, field)
    assert body[field] == ["Null characters are not allowed."]
    assert_nothing_written(media_root)


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"pictures[]": "x"}, "pictures[]"),
        ({"picture": "x"}, "picture"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_fields_the_api_does_not_know_are_refused_not_dropped(
    client, media_root, fields, bad
):
    data = share_data(**fields)
    if "pictures[]" in fields or "picture" in fields:
        data[bad] = jpeg_file("a.jpg")

    response = post_share(client, data, format="multipart")

    assert response.status_code == 400
    assert response.json() == {bad: ["Unknown field."]}
    assert_nothing_written(media_root)


@pytest.mark.parametrize("name", ["title", "latitude", "place_name"])
def test_a_field_given_twice_is_refused(client, media_root, name):
    data = share_data(place_name="Shelf")
    data[name] = [data[name], data[name] + "1"]

    response = post_share(client, data, format="multipart")

    assert response.status_code == 400
    assert response.json() == {name: ["Give this field once."]}
    assert_nothing_written(media_root)
