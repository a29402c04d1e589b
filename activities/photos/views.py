"""Photo endpoints (API.md §5): HTTP in and out; the rules live in activities.photos.services."""

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from activelog.api.errors import PayloadTooLarge
from activities import selectors
from activities.photos import selectors as photo_selectors
from activities.photos import serializers as photo_serializers
from activities.photos import services as photo_services
from activities.photos.images import MAX_FILE_BYTES, MAX_PIXELS

MAX_MB = MAX_FILE_BYTES // (1024 * 1024)
UPLOAD_DESCRIPTION = f"""
Send `multipart/form-data` with 1 to {photo_services.MAX_FILES_PER_REQUEST} files under the field
name `photos`. The request is all or nothing: every file is checked and processed before anything
is stored, and one bad file rejects the whole request.

- Accepted: JPEG, PNG and WebP, judged by decoding the content (not by file name or part
  Content-Type); anything else is **415**. Animated PNG/WebP keep their first frame.
- Over {MAX_MB} MB in one file: **413** (the upload stops being read at that point).
- No file, more than {photo_services.MAX_FILES_PER_REQUEST} files in the request, or more than
  {photo_services.MAX_PHOTOS_PER_ACTIVITY} photos on the activity: **400** with the message under
  `errors.photos`.
- Over {MAX_PIXELS // 1_000_000} megapixels (decompression bombs, e.g. a 50,000 x 50,000 PNG
  in a few hundred bytes): **400** with the message under `errors.photos`; the size is read from
  the image header and no pixel is decoded.
- An image whose decoding would take more memory than one decode may have
  (`PHOTO_DECODE_MEMORY_MB`, 192 MiB by default: a WebP up to about 12 megapixels, an RGB PNG up to
  about 33, any JPEG up to the limit above): **400** under `errors.photos`, naming the most this
  format may have. Photos are decoded one at a time per server; a request that waits more than
  20 s for its turn gets **503** with `Retry-After`, and nothing is stored.
- Stored images have EXIF orientation applied and all metadata removed (EXIF including GPS,
  XMP, comments; only the ICC colour profile is kept). They are re-encoded in their own format
  (JPEG/WebP quality 85, PNG optimised) and at most 2048 px on the long side. The thumbnail fits
  within 300x300 and has the same format as the image.
- If the media storage fails: **503** with `Retry-After`; no photo is created and nothing
  uploaded by the request is kept.
"""

UPLOAD_RESPONSES = {
    201: photo_serializers.PhotoUploadResultSerializer,
    413: OpenApiResponse(description=f"A file is larger than {MAX_MB} MB."),
    415: OpenApiResponse(description="Not multipart/form-data, or a file is not a JPEG, PNG or WebP image."),
    503: OpenApiResponse(description="The media storage or the database is unavailable, or other photos kept the "
                         "decoder busy: retry after Retry-After seconds. Nothing was stored."),
}


class UploadLimits(FileUploadHandler):
    """First in the upload handler chain: counts the files and their bytes while the body is
    parsed, and stops reading as soon as a limit is broken, so that an oversized or
    overcrowded request is not spooled to disk before it is refused."""

    def __init__(self, request=None):
        super().__init__(request)
        self.files = 0
        self.too_many = False
        self.too_large: str | None = None

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        self.files += 1
        if self.files > photo_services.MAX_FILES_PER_REQUEST:
            self.too_many = True
            raise StopUpload(connection_reset=False)

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > MAX_FILE_BYTES:
            self.too_large = self.file_name or ""
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler (memory or temporary file) produces the file


class ActivityPhotoListView(APIView):
    parser_classes = [MultiPartParser]  # anything else (JSON included) is 415
    upload_limits: UploadLimits | None = None

    def initialize_request(self, request, *args, **kwargs):
        # Before anything can read the body (session authentication's CSRF check reads
        # request.POST): the limits must see the files as they arrive.
        if request.method == "POST":
            self.upload_limits = UploadLimits(request)
            request.upload_handlers.insert(0, self.upload_limits)
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        tags=["photos"],
        operation_id="activity_photos_list",
        summary="List an activity's photos (newest first)",
        description="Not paginated: an activity has at most 20 photos. Links are valid for one hour.",
        responses={200: photo_serializers.PhotoListSerializer},
    )
    def get(self, request, activity_id: int):
        activity = selectors.activity_get(user=request.user, activity_id=activity_id)
        photos = list(photo_selectors.photo_list(activity=activity))
        data = photo_serializers.PhotoSerializer(photos, many=True, context={"request": request}).data
        return Response({"photos": data, "total": len(photos)})

    @extend_schema(
        tags=["photos"],
        operation_id="activity_photos_upload",
        summary="Upload 1-5 photos to an activity",
        description=UPLOAD_DESCRIPTION,
        request={"multipart/form-data": photo_serializers.PhotoUploadSerializer},
        responses=UPLOAD_RESPONSES,
    )
    def post(self, request, activity_id: int):
        activity = selectors.activity_get(user=request.user, activity_id=activity_id)
        files = request.FILES.getlist("photos")  # parses the body through UploadLimits
        limits = self.upload_limits
        if limits is not None and limits.too_many:
            raise exceptions.ValidationError({
                "photos": [f"At most {photo_services.MAX_FILES_PER_REQUEST} files per request."]
            })
        if limits is not None and limits.too_large is not None:
            name = f' ("{limits.too_large[:80]}")' if limits.too_large else ""
            raise PayloadTooLarge(f"A file{name} is larger than {MAX_MB} MB.")
        photos = photo_services.photo_attach(activity=activity, files=files)
        # Metrics hook point: `photos` are the created photos (activelog_photos_uploaded_total).
        data = photo_serializers.PhotoSerializer(photos, many=True, context={"request": request}).data
        return Response({"photos": data, "uploaded_count": len(photos)}, status=status.HTTP_201_CREATED)


class ActivityPhotoDetailView(APIView):
    @extend_schema(
        tags=["photos"],
        operation_id="activity_photos_retrieve",
        summary="One photo of an activity",
        responses={200: photo_serializers.PhotoSerializer},
    )
    def get(self, request, activity_id: int, photo_id: int):
        activity = selectors.activity_get(user=request.user, activity_id=activity_id)
        photo = photo_selectors.photo_get(activity=activity, photo_id=photo_id)
        return Response(photo_serializers.PhotoSerializer(photo, context={"request": request}).data)

    @extend_schema(
        tags=["photos"],
        operation_id="activity_photos_destroy",
        summary="Delete a photo (its stored image and thumbnail are removed too)",
        responses={204: OpenApiResponse(description="Deleted")},
    )
    def delete(self, request, activity_id: int, photo_id: int):
        activity = selectors.activity_get(user=request.user, activity_id=activity_id)
        photo_services.photo_delete(photo=photo_selectors.photo_get(activity=activity, photo_id=photo_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
