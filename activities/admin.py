"""Django admin for activities, tags and photos.

The admin writes straight to the models, so every write that changes a user's statistics bumps
that user's ``stats_version`` in the same transaction (as the services do), and the activity
form applies the API's normalisation (lower-case type, the owner's own tags).
"""

from collections.abc import Iterable

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import OuterRef
from django.utils import timezone

from activelog.db import correlated_count
from activities.models import Activity, Photo, Tag
from activities.photo_services import activity_photo_files_delete_on_commit, photo_delete
from activities.services import stored_files_delete_on_commit
from activities.stats_cache import stats_version_bump

ActivityTag = Activity.tags.through


def _bump(user_ids: Iterable[int | None]) -> None:
    for user_id in sorted({user_id for user_id in user_ids if user_id is not None}):
        stats_version_bump(user_id=user_id)


def _owners(queryset) -> set[int]:
    return set(queryset.order_by().values_list("user_id", flat=True).distinct())


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "Live"), ("yes", "Soft-deleted")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class TagChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Tag) -> str:
        return f"{obj.name} ({obj.user})"


class ActivityAdminForm(forms.ModelForm):
    class Meta:
        model = Activity
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose what is shown
        field_classes = {"tags": TagChoiceField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        tags = self.fields.get("tags")
        if tags is not None:
            queryset = Tag.objects.select_related("user")
            if self.instance.pk:  # an existing activity can only carry its owner's tags
                queryset = queryset.filter(user_id=self.instance.user_id)
            tags.queryset = queryset

    def clean_activity_type(self) -> str:
        value = (self.cleaned_data.get("activity_type") or "").strip().lower()
        if len(value) < 2:
            raise forms.ValidationError("Use 2 to 50 characters.")
        return value

    def clean(self):
        cleaned = super().clean()
        user = cleaned.get("user") or (self.instance.user if self.instance.user_id else None)
        tags = cleaned.get("tags")
        if user is not None and tags:
            foreign = sorted(tag.name for tag in tags if tag.user_id != user.pk)
            if foreign:
                self.add_error("tags", f"These tags belong to another user: {', '.join(foreign)}.")
        return cleaned


class PhotoInline(admin.TabularInline):
    model = Photo
    extra = 0
    fields = ["image", "thumbnail", "content_type", "file_size", "width", "height", "uploaded_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    form = ActivityAdminForm
    list_display = [
        "id", "user", "activity_type", "title", "activity_date", "duration_minutes",
        "distance_km", "calories_burned", "tag_list", "is_deleted",
    ]
    list_display_links = ["id", "title"]
    list_filter = ["activity_type", "activity_date", DeletedFilter]
    search_fields = ["title", "description", "notes", "user__username", "user__email", "activity_type"]
    search_help_text = "Title, description, notes, type, or the owner's username or email."
    date_hierarchy = "activity_date"
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    filter_horizontal = ["tags"]
    readonly_fields = ["created_at", "updated_at", "deleted_at"]
    inlines = [PhotoInline]
    actions = ["restore_activities", "soft_delete_activities"]
    list_per_page = 50
    # A user with 100,000 activities: no second COUNT(*) over the whole table on every page.
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")

    def get_readonly_fields(self, request, obj=None):
        # An activity stays with its owner (its tags, photos and statistics are theirs).
        return [*super().get_readonly_fields(request, obj), *(["user"] if obj else [])]

    @admin.display(description="tags")
    def tag_list(self, obj: Activity) -> str:
        return ", ".join(sorted(tag.name for tag in obj.tags.all()))

    @admin.display(boolean=True, description="deleted", ordering="deleted_at")
    def is_deleted(self, obj: Activity) -> bool:
        return obj.is_deleted

    @admin.action(description="Restore selected soft-deleted activities", permissions=["change"])
    def restore_activities(self, request, queryset):
        with transaction.atomic():
            targets = Activity.objects.filter(pk__in=queryset.order_by().values("pk"), deleted_at__isnull=False)
            owners = _owners(targets)
            restored = targets.update(deleted_at=None, updated_at=timezone.now())
            _bump(owners)
        self.message_user(request, f"Restored {restored} activities.", messages.SUCCESS)

    @admin.action(description="Soft-delete selected activities", permissions=["change"])
    def soft_delete_activities(self, request, queryset):
        now = timezone.now()
        with transaction.atomic():
            targets = Activity.objects.filter(pk__in=queryset.order_by().values("pk"), deleted_at__isnull=True)
            owners = _owners(targets)
            deleted = targets.update(deleted_at=now, updated_at=now)
            _bump(owners)
        self.message_user(request, f"Soft-deleted {deleted} activities.", messages.SUCCESS)

    # The admin's change and delete views run in a transaction: the bumps commit with the write.
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        _bump([obj.user_id])

    def delete_model(self, request, obj):
        with transaction.atomic():
            user_id = obj.user_id
            # Permanent deletion: the photos' stored objects go too, once the rows are gone.
            activity_photo_files_delete_on_commit(activity_ids=[obj.pk])
            super().delete_model(request, obj)
            _bump([user_id])

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            owners = _owners(queryset)
            activity_photo_files_delete_on_commit(activity_ids=queryset.order_by().values("pk"))
            super().delete_queryset(request, queryset)
            _bump(owners)


class TagAdminForm(forms.ModelForm):
    class Meta:
        model = Tag
        fields = "__all__"  # noqa: DJ007 - the admin's fields choose what is shown

    def clean_name(self) -> str:
        value = (self.cleaned_data.get("name") or "").strip().lower()
        if not value:
            raise forms.ValidationError("A tag needs a name.")
        return value


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    form = TagAdminForm
    list_display = ["name", "user", "usage", "created_at"]
    search_fields = ["name", "user__username", "user__email"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at"]

    def get_queryset(self, request):
        # A correlated count per listed tag (the through table is indexed by tag), rather than a
        # GROUP BY over every tag link in the database.
        live_links = ActivityTag.objects.filter(tag_id=OuterRef("pk"), activity__deleted_at__isnull=True)
        return super().get_queryset(request).annotate(usage_count=correlated_count(live_links, group_by="tag_id"))

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), *(["user"] if obj else [])]

    @admin.display(description="live activities", ordering="usage_count")
    def usage(self, obj: Tag) -> int:
        return obj.usage_count

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        _bump([obj.user_id])

    def delete_model(self, request, obj):
        user_id = obj.user_id
        super().delete_model(request, obj)
        _bump([user_id])

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            owners = _owners(queryset)
            super().delete_queryset(request, queryset)
            _bump(owners)


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    """Photos are added through the API only (validation, metadata stripping, resizing); the
    admin can look and delete, and deleting removes the stored objects too."""

    list_display = ["id", "activity", "content_type", "file_size", "width", "height", "uploaded_at"]
    list_select_related = ["activity"]
    readonly_fields = ["activity", "image", "thumbnail", "content_type", "file_size", "width", "height",
                       "uploaded_at"]

    def has_add_permission(self, request):
        return False

    def delete_model(self, request, obj):
        photo_delete(photo=obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            files = [(f.storage, f.name) for photo in queryset for f in (photo.image, photo.thumbnail) if f.name]
            queryset.delete()
            stored_files_delete_on_commit(files)
