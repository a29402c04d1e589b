"""Photo representations (API.md §5)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from activelog.storage import PHOTO_LINK_SECONDS, signed_url
from activities.models import Photo
from activities.photos.services import MAX_FILES_PER_REQUEST


class PhotoSerializer(serializers.ModelSerializer):
    activity_id = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField(
        help_text=f"Time-limited link to the stored image (valid {PHOTO_LINK_SECONDS // 60} minutes)."
    )
    thumbnail_url = serializers.SerializerMethodField(
        help_text=f"Time-limited link to the thumbnail, within 300x300, same format as the image "
        f"(valid {PHOTO_LINK_SECONDS // 60} minutes)."
    )
    content_type = serializers.CharField(read_only=True, help_text="image/jpeg, image/png or image/webp.")
    file_size = serializers.IntegerField(read_only=True, help_text="Bytes of the stored (processed) image.")
    width = serializers.IntegerField(read_only=True, help_text="Stored image width in pixels (at most 2048).")
    height = serializers.IntegerField(read_only=True, help_text="Stored image height in pixels (at most 2048).")

    class Meta:
        model = Photo
        fields = [
            "id",
            "activity_id",
            "url",
            "thumbnail_url",
            "content_type",
            "file_size",
            "width",
            "height",
            "uploaded_at",
        ]
        read_only_fields = fields

    def _link(self, name: str) -> str:
        return signed_url(name, seconds=PHOTO_LINK_SECONDS, request=self.context.get("request"))

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: Photo) -> str:
        return self._link(obj.image.name)

    @extend_schema_field(OpenApiTypes.URI)
    def get_thumbnail_url(self, obj: Photo) -> str:
        return self._link(obj.thumbnail.name)


class PhotoUploadSerializer(serializers.Serializer):
    """The multipart request body (documentation only: the view reads the files itself so that
    size limits are enforced while the body is still being received)."""

    photos = serializers.ListField(
        child=serializers.FileField(),
        min_length=1,
        max_length=MAX_FILES_PER_REQUEST,
        help_text="1 to 5 image files (JPEG, PNG or WebP), repeated under the same field name.",
    )


class PhotoUploadResultSerializer(serializers.Serializer):
    photos = PhotoSerializer(many=True, help_text="The new photos, in the order they were sent.")
    uploaded_count = serializers.IntegerField()


class PhotoListSerializer(serializers.Serializer):
    photos = PhotoSerializer(many=True, help_text="Newest first. An activity has at most 20 photos.")
    total = serializers.IntegerField()
