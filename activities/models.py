import datetime as dt
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, FloatField, Func, Q
from django.utils import timezone

from activities import rules

RESTORE_WINDOW = timedelta(days=30)


class Tag(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=rules.TAG_NAME_MAX_LENGTH, validators=[rules.validate_tag_name])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="tag_user_name_unique"),
            models.CheckConstraint(condition=~Q(name=""), name="tag_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name


class ActivityQuerySet(models.QuerySet):
    _build: Callable[[], "ActivityQuerySet"] | None = None

    def paged(self, *, count: Callable[[], int], fetch: Callable[..., list],
              build: Callable[[], "ActivityQuerySet"] | None = None) -> "ActivityQuerySet":
        """This queryset, as paginators see it served another way (activities.selectors): its
        count() answers ``count()`` instead of a COUNT(*) (a cached total), and its slices
        ``[start:stop]`` are the list ``fetch(offset=start, limit=stop - start)`` (SQL compiled
        once) instead of a sliced clone. Only this very object: a filtered or ordered clone, and
        any other indexing, work as usual.

        With ``build``, the queryset is ``build()`` instead, built only when something other than
        count() or a slice needs its query (iterating, filtering, ``ordered``): building an
        annotated queryset is a fifth of a list request's CPU (bench/profile_endpoint.py), and a
        page through a paginator needs neither."""
        clone = self._chain()
        clone._count_source, clone._page_source, clone._build = count, fetch, build
        return clone

    @property
    def query(self):
        if self._build is not None:
            built, self._build = self._build(), None
            self._query, self._prefetch_related_lookups = built.query, built._prefetch_related_lookups
        return super().query

    @query.setter
    def query(self, value):
        models.QuerySet.query.fset(self, value)

    def count(self) -> int:
        source = getattr(self, "_count_source", None)
        return source() if source is not None and self._result_cache is None else super().count()

    def __getitem__(self, k):
        source = getattr(self, "_page_source", None)
        if (source is not None and self._result_cache is None and isinstance(k, slice) and k.step is None
                and k.stop is not None and k.stop >= (k.start or 0) >= 0):
            return source(offset=k.start or 0, limit=k.stop - (k.start or 0))
        return super().__getitem__(k)

    def alive(self):
        return self.filter(deleted_at__isnull=True)

    def restorable(self, *, now=None):
        now = now or timezone.now()
        return self.filter(deleted_at__isnull=False, deleted_at__gte=now - RESTORE_WINDOW)


class Pace(Func):
    """Minutes per kilometre as the database computes it, for comparing paces (the fastest-pace
    record and its index): an exact quotient on PostgreSQL, so equal paces tie; a double on SQLite,
    whose NUMERIC keeps whole numbers as integers (7 / 2 would be 3), correctly rounded, so equal
    paces tie there too. Null without a distance. Only ever compared, never read back: the float
    output field keeps Django from wrapping it in SQLite's NUMERIC cast, which would hide it from
    its index."""

    template = "(CAST(%(expressions)s)"
    arg_joiner = " AS NUMERIC(20, 8)) / "
    output_field = FloatField()

    def __init__(self):
        super().__init__(F("duration_minutes"), F("distance_km"))

    def __repr__(self) -> str:
        return "Pace(duration_minutes / distance_km)"

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, arg_joiner=" AS REAL) / ", **extra_context)


class Activity(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="activities")
    activity_type = models.CharField(
        max_length=rules.ACTIVITY_TYPE_MAX_LENGTH, validators=[rules.validate_activity_type]
    )
    title = models.CharField(max_length=255, blank=True, default="", validators=[rules.validate_single_line_text])
    description = models.TextField(
        max_length=1000, blank=True, default="", validators=[rules.validate_multi_line_text]
    )
    duration_minutes = models.PositiveIntegerField()
    distance_km = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    calories_burned = models.PositiveIntegerField(null=True, blank=True)
    notes = models.TextField(max_length=2000, blank=True, default="", validators=[rules.validate_multi_line_text])
    activity_date = models.DateTimeField(validators=[rules.validate_activity_date])
    tags = models.ManyToManyField(Tag, related_name="activities", blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ActivityQuerySet.as_manager()

    # What a person sets (tags aside); the API's representation lists them in this order.
    EDITABLE_FIELDS = (
        "activity_type",
        "title",
        "description",
        "duration_minutes",
        "distance_km",
        "calories_burned",
        "notes",
        "activity_date",
    )

    class Meta:
        verbose_name_plural = "activities"
        ordering = ["-activity_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=1, duration_minutes__lte=1440),
                name="activity_duration_range",
            ),
            models.CheckConstraint(
                condition=Q(distance_km__isnull=True) | Q(distance_km__gte=0, distance_km__lte=1000),
                name="activity_distance_range",
            ),
            models.CheckConstraint(
                condition=Q(calories_burned__isnull=True) | Q(calories_burned__gte=0, calories_burned__lte=20000),
                name="activity_calories_range",
            ),
            models.CheckConstraint(condition=~Q(activity_type=""), name="activity_type_not_empty"),
        ]
        indexes = [
            # The default list, date-range filters and every per-user statistic.
            models.Index(
                fields=["user", "-activity_date", "-id"],
                name="activity_user_date_live",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["user", "activity_type", "-activity_date"],
                name="activity_user_type_date_live",
                condition=Q(deleted_at__isnull=True),
            ),
            # Personal records (statistics.selectors.personal_records): per type, each record's holder
            # is the first entry in its order, so records cost an index probe per type and record.
            models.Index(
                fields=["user", "activity_type", "-distance_km", "activity_date", "id"],
                name="activity_record_distance",
                condition=Q(deleted_at__isnull=True, distance_km__isnull=False),
            ),
            models.Index(
                fields=["user", "activity_type", "-duration_minutes", "activity_date", "id"],
                name="activity_record_duration",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["user", "activity_type", "-calories_burned", "activity_date", "id"],
                name="activity_record_calories",
                condition=Q(deleted_at__isnull=True, calories_burned__isnull=False),
            ),
            models.Index(
                F("user"), F("activity_type"), Pace(), F("activity_date"), F("id"),
                name="activity_record_pace",
                condition=Q(deleted_at__isnull=True, distance_km__gte=1),
            ),
            # The restore list (include_deleted=true) and the purge of expired soft deletes.
            models.Index(
                fields=["user", "-deleted_at"],
                name="activity_user_deleted",
                condition=Q(deleted_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.activity_type} on {self.activity_date:%Y-%m-%d} ({self.duration_minutes} min)"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def tag_names(self) -> list[str]:
        """The tag names, sorted: from the ``tag_name_list`` annotation of the display selectors
        (activities.selectors) when the query carried it, else from ``tags`` (prefetched or not)."""
        annotated = getattr(self, "tag_name_list", None)
        names = annotated if annotated is not None else [tag.name for tag in self.tags.all()]
        return sorted(names)

    @property
    def pace_min_per_km(self) -> Decimal | None:
        if not self.distance_km:
            return None
        return (Decimal(self.duration_minutes) / self.distance_km).quantize(Decimal("0.01"))


def photo_upload_to(instance: "Photo", filename: str) -> str:
    return f"users/{instance.activity.user_id}/activities/{instance.activity_id}/photos/{filename}"


class Photo(models.Model):
    """An image attached to an activity (stored by activities.photos.services)."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to=photo_upload_to, max_length=500)
    thumbnail = models.FileField(upload_to=photo_upload_to, max_length=500)
    content_type = models.CharField(max_length=32)
    file_size = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        indexes = [models.Index(fields=["activity", "-uploaded_at"], name="photo_activity_uploaded")]

    def __str__(self) -> str:
        return f"Photo {self.pk} of activity {self.activity_id}"


def export_upload_to(instance: "ExportJob", filename: str) -> str:
    return f"exports/{instance.user_id}/{instance.pk}/{filename}"


def export_expiry() -> "dt.datetime":
    """A report and its file are kept this long after the job is created."""
    return timezone.now() + ExportJob.EXPIRES_AFTER


class ExportJob(models.Model):
    """A report rendered in the background; its state lives here, not in a Celery result backend."""

    EXPIRES_AFTER = timedelta(days=7)

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_jobs")
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.PDF)
    start_date = models.DateField()
    end_date = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    record_count = models.PositiveIntegerField(null=True, blank=True)
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    error_message = models.CharField(max_length=500, blank=True, default="")
    file = models.FileField(upload_to=export_upload_to, max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(default=export_expiry)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__gte=0, progress__lte=100), name="exportjob_progress_range"),
            models.CheckConstraint(condition=Q(start_date__lte=F("end_date")), name="exportjob_period_order"),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="exportjob_user_created"),
            models.Index(fields=["expires_at"], name="exportjob_expires"),
        ]

    def __str__(self) -> str:
        return f"{self.format} report {self.pk} ({self.status})"


class StoredFileDeletion(models.Model):
    """A stored object whose row has been deleted, waiting for its own deletion (activities.files).

    Written in the same transaction as the row deletion, removed once the object is gone: a
    committed deletion always leaves either no object or this record of it. What stays here is
    what the storage could not do yet; the sweep retries it.
    """

    storage = models.CharField(max_length=64, default="default")  # an alias of settings.STORAGES
    name = models.CharField(max_length=500)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=~Q(name=""), name="storedfiledeletion_name_not_empty")]

    def __str__(self) -> str:
        return f"{self.storage}:{self.name}"
