"""Pictures are decoded in full and written again without their metadata."""

import io

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.views.static import serve
from PIL import Image

from books.pictures import MAX_PIXELS, UnusablePicture, clean_picture
from tests.books.sharing import assert_nothing_written, post_share, share_data

ORIENTATION = 0x0112
MAKE = 0x010F
GPS_IFD = 0x8825
# Somewhere in Paris, as a phone writes it.
GPS = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 21.0, 7.0)}


def photo_exif(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE] = "PhoneMaker"
    exif[GPS_IFD] = GPS
    return exif.tobytes()


def photo(image_format: str = "JPEG", size=(40, 30), **options) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, image_format, **options)
    return buffer.getvalue()


def upload(data: bytes, name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def opened(cleaned) -> Image.Image:
    return Image.open(io.BytesIO(cleaned.read()))


def test_a_photo_with_gps_exif_comes_out_with_no_exif_at_all():
    sent = photo(exif=photo_exif())
    assert Image.open(io.BytesIO(sent)).getexif().get_ifd(GPS_IFD) == GPS

    cleaned = clean_picture(upload(sent))

    data = cleaned.read()
    assert b"Exif" not in data
    assert b"PhoneMaker" not in data
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert dict(image.getexif()) == {}
    assert "exif" not in image.info


def test_the_orientation_is_applied_before_the_metadata_goes():
    # 6: the camera was turned; the picture is shown rotated by 90 degrees.
    cleaned = clean_picture(upload(photo(size=(40, 30), exif=photo_exif(6))))

    assert opened(cleaned).size == (30, 40)


@pytest.mark.parametrize("image_format", ["PNG", "WEBP"])
def test_other_formats_keep_their_format_and_lose_their_exif(image_format):
    sent = photo(image_format, exif=photo_exif(6))

    cleaned = clean_picture(upload(sent, "p"))

    image = opened(cleaned)
    assert image.format == image_format
    assert image.size == (30, 40)
    assert dict(image.getexif()) == {}
    assert cleaned.name.endswith({"PNG": ".png", "WEBP": ".webp"}[image_format])


def test_a_gif_comment_is_not_kept():
    cleaned = clean_picture(upload(photo("GIF", comment=b"our address"), "g.gif"))

    data = cleaned.read()
    assert b"our address" not in data
    assert Image.open(io.BytesIO(data)).format == "GIF"


def test_the_colour_profile_is_kept():
    profile = b"\x00" * 128  # Pillow writes the bytes as given
    cleaned = clean_picture(upload(photo(icc_profile=profile)))

    assert opened(cleaned).info["icc_profile"] == profile


def test_a_truncated_jpeg_is_refused():
    noise = io.BytesIO()
    Image.effect_noise((200, 200), 60).convert("RGB").save(noise, "JPEG")

    with pytest.raises(UnusablePicture, match="could not be read in full"):
        clean_picture(upload(noise.getvalue()[:-800]))


def test_a_format_we_do_not_publish_is_refused():
    with pytest.raises(UnusablePicture, match="TIFF pictures are not accepted"):
        clean_picture(upload(photo("TIFF"), "t.tiff"))


def test_a_picture_with_too_many_pixels_is_refused_before_decoding():
    side = int(MAX_PIXELS**0.5) + 10
    huge = photo("PNG", size=(side, side))

    with pytest.raises(UnusablePicture, match="pixels"):
        clean_picture(upload(huge, "huge.png"))


# Through the API


def share_with(client, *uploads):
    return post_share(client, share_data(pictures=list(uploads)))


def served(url: str) -> bytes:
    """The file at ``url`` as the project's /media/ view serves it.

    The URLconf bound that view to the MEDIA_ROOT of startup; tests use their
    own, so the view is called here with it.
    """
    path = url.removeprefix(f"http://testserver{settings.MEDIA_URL}")
    request = RequestFactory().get(url)
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    assert response.status_code == 200
    return b"".join(response.streaming_content)


@pytest.mark.django_db
def test_a_shared_photo_with_gps_is_served_without_any_exif(client):
    sent = photo(size=(40, 30), exif=photo_exif(6))

    response = share_with(client, upload(sent, "home.jpg"))

    assert response.status_code == 201, response.content
    [picture] = response.json()["pictures"]
    data = served(picture["url"])
    assert b"Exif" not in data and b"PhoneMaker" not in data
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size) == ("JPEG", (30, 40))
    assert dict(image.getexif()) == {}


@pytest.mark.django_db
def test_a_truncated_jpeg_refuses_the_share_and_writes_nothing(client, media_root):
    noise = io.BytesIO()
    Image.effect_noise((200, 200), 60).convert("RGB").save(noise, "JPEG")
    good = upload(photo(), "a.jpg")
    truncated = upload(noise.getvalue()[:-800], "b.jpg")

    response = share_with(client, good, truncated)

    assert response.status_code == 400
    assert response.json() == {
        "pictures": {
            "1": [
                "The picture could not be read in full: the file is damaged or "
                "not an image."
            ]
        }
    }
    assert_nothing_written(media_root)
