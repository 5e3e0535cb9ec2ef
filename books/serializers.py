from django.conf import settings
from rest_framework import serializers

from books.isbn import normalize_isbn
from books.models import Book, Picture
from books.pictures import UnusablePicture, clean_picture
from books.services import PlaceInput
from places.models import Place
from places.serializers import PlaceSerializer, latitude_field, longitude_field
from sharebook.fields import StrictInputMixin


class PictureSerializer(serializers.ModelSerializer):
    url = serializers.ImageField(source="image", read_only=True)
    thumbnail_url = serializers.ImageField(
        source="thumbnail",
        read_only=True,
        allow_null=True,
        help_text="Null until the thumbnail is made, shortly after the share.",
    )

    class Meta:
        model = Picture
        fields = ["id", "position", "url", "thumbnail_url"]


class BookSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    place = PlaceSerializer(read_only=True)
    pictures = PictureSerializer(many=True, read_only=True)

    class Meta:
        model = Book
        fields = [
            "id",
            "title",
            "author",
            "isbn",
            "description",
            "status",
            "owner",
            "place",
            "pictures",
            "created_at",
        ]


class NearBookSerializer(BookSerializer):
    """A listed book with the distance in metres from the point asked about."""

    distance_m = serializers.FloatField(read_only=True)

    class Meta(BookSerializer.Meta):
        fields = [*BookSerializer.Meta.fields, "distance_m"]


class ShareSerializer(StrictInputMixin, serializers.Serializer):
    """What a client sends to share a book (multipart, ``pictures`` repeated)."""

    title = serializers.CharField(max_length=300)
    author = serializers.CharField(max_length=300)
    isbn = serializers.CharField(required=False, allow_blank=True, max_length=40)
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=5000
    )
    place = serializers.PrimaryKeyRelatedField(
        queryset=Place.objects.all(), required=False
    )
    latitude = latitude_field(required=False)
    longitude = longitude_field(required=False)
    place_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    pictures = serializers.ListField(child=serializers.ImageField(), required=False)

    def validate_isbn(self, value: str) -> str:
        return clean_isbn(value)

    def validate_pictures(self, files: list) -> list:
        most = settings.BOOKS["MAX_PICTURES"]
        if len(files) > most:
            raise serializers.ValidationError(
                f"At most {most} pictures per book; {len(files)} were sent."
            )
        limit = settings.BOOKS["MAX_PICTURE_BYTES"]
        for upload in files:
            if upload.size > limit:
                raise serializers.ValidationError(
                    f"{upload.name} is {upload.size} bytes; the limit is {limit}."
                )
        return clean_pictures(files)

    def validate(self, attrs: dict) -> dict:
        has_point = "latitude" in attrs or "longitude" in attrs
        if "place" in attrs and has_point:
            raise serializers.ValidationError(
                {"place": ["Give a place id or latitude and longitude, not both."]}
            )
        if "place" not in attrs and not has_point:
            raise serializers.ValidationError(
                {"place": ["Give a place id, or latitude and longitude."]}
            )
        for name, other in (("latitude", "longitude"), ("longitude", "latitude")):
            if other in attrs and name not in attrs:
                raise serializers.ValidationError(
                    {name: [f"This field is required when {other} is given."]}
                )
        least = settings.BOOKS["MIN_PICTURES"]
        if len(attrs.get("pictures", [])) < least:
            raise serializers.ValidationError(
                {"pictures": [f"At least {least} picture(s) are required."]}
            )
        return attrs

    def get_place_input(self) -> PlaceInput:
        data = self.validated_data
        if "place" in data:
            return PlaceInput(place_id=data["place"].pk)
        return PlaceInput(
            latitude=data["latitude"],
            longitude=data["longitude"],
            name=data.get("place_name", ""),
        )


class BookUpdateSerializer(StrictInputMixin, serializers.Serializer):
    """What an owner may change on a book (PATCH): its text, nothing else."""

    title = serializers.CharField(max_length=300)
    author = serializers.CharField(max_length=300)
    isbn = serializers.CharField(allow_blank=True, max_length=40)
    description = serializers.CharField(allow_blank=True, max_length=5000)

    def validate_isbn(self, value: str) -> str:
        return clean_isbn(value)


def clean_isbn(value: str) -> str:
    """The ISBN in its canonical form, or "" for none."""
    if not value:
        return ""
    isbn = normalize_isbn(value)
    if isbn is None:
        raise serializers.ValidationError(
            "Enter a valid ISBN-10 or ISBN-13 (its check digit does not match)."
        )
    return isbn


def clean_pictures(files: list) -> list:
    """The pictures decoded in full and written again without their metadata."""
    cleaned, errors = [], {}
    for index, upload in enumerate(files):
        try:
            cleaned.append(clean_picture(upload))
        except UnusablePicture as error:
            errors[index] = [str(error)]
    if errors:
        raise serializers.ValidationError(errors)
    return cleaned
