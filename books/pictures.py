"""Pictures made safe to publish.

A phone photo carries EXIF metadata: often the GPS position where it was
taken, which for a book shared from home is someone's address. Each upload is
decoded in full with Pillow (which also refuses truncated or corrupt files
that a header check lets through), turned upright by its EXIF orientation,
and written again in its own format with no metadata but its colour profile.
"""

import io

from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError

# Formats written back as themselves; a GIF keeps its first frame only.
FORMATS = {
    "JPEG": ("image/jpeg", ".jpg", {"quality": 90}),
    "PNG": ("image/png", ".png", {}),
    "WEBP": ("image/webp", ".webp", {"quality": 90}),
    "GIF": ("image/gif", ".gif", {}),
}
# Far above any phone camera; a larger picture would only cost memory.
MAX_PIXELS = 50_000_000


class UnusablePicture(ValueError):
    """The file is not a whole picture in a format we publish."""


def clean_picture(upload: UploadedFile) -> SimpleUploadedFile:
    """Decode ``upload`` and return it written again without metadata."""
    image = decode(upload)
    content_type, extension, options = FORMATS[image.format]
    icc_profile = image.info.get("icc_profile")

    upright = ImageOps.exif_transpose(image)
    # Whatever came with the file (EXIF, XMP, comments) is not written back.
    upright.info = {}
    buffer = io.BytesIO()
    if icc_profile:
        options = {**options, "icc_profile": icc_profile}
    upright.save(buffer, image.format, **options)

    cleaned = SimpleUploadedFile(
        f"picture{extension}", buffer.getvalue(), content_type=content_type
    )
    # As Django's ImageField does: the storage name takes its extension from it.
    cleaned.image = image
    return cleaned


def decode(upload: UploadedFile) -> Image.Image:
    upload.seek(0)
    try:
        image = Image.open(upload)
        if image.format not in FORMATS:
            raise UnusablePicture(
                f"{image.format} pictures are not accepted; send JPEG, PNG, "
                "WebP or GIF."
            )
        if image.width * image.height > MAX_PIXELS:
            raise UnusablePicture(
                f"The picture has {image.width}x{image.height} pixels; the "
                f"limit is {MAX_PIXELS:,} pixels."
            )
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        # Pillow's decoders report a damaged file with any of these.
        raise UnusablePicture(
            "The picture could not be read in full: the file is damaged or "
            "not an image."
        ) from None
    finally:
        upload.seek(0)
    return image


THUMBNAIL_SIZE = (320, 320)


def make_thumbnail(picture_file) -> tuple[bytes, str]:
    """Return a small copy of a stored (already cleaned) picture, and its suffix."""
    with Image.open(picture_file) as image:
        image_format = image.format if image.format in FORMATS else "JPEG"
        _, extension, options = FORMATS[image_format]
        small = image.copy()
    small.thumbnail(THUMBNAIL_SIZE)
    buffer = io.BytesIO()
    small.save(buffer, image_format, **options)
    return buffer.getvalue(), extension
