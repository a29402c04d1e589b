"""Django admin for activities, tags and photos (and the users' activity counts), and the stored
files still waiting for deletion.

Every write goes through the services, like the API's: the same rules (activities.rules, through
the forms and the services' ``full_clean``), the same statistics-version bump, the same clean-up
of stored files.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import OuterRef

from accounts.admin import UserAdmin
from accounts.models import User
from activelog.db import correlated_count
from activities import rules, services
from activities.files import stored_file_deletions_run
from activities.models import Activity, Photo, StoredFileDeletion, Tag
from activities.photos.services import photo_delete

ActivityTag = Activity.tags.through


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "Live"), ("yes", "Soft-deleted")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.alive()
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
        return rules.clean_activity_type(self.cleaned_data.get("activity_type") or "")

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
        restored = services.activities_restore(activities=queryset)
        self.message_user(request, f"Restored {restored} activities.", messages.SUCCESS)

    @admin.action(description="Soft-delete selected activities", permissions=["change"])
    def soft_delete_activities(self, request, queryset):
        deleted = services.activities_soft_delete(activities=queryset)
        self.message_user(request, f"Soft-deleted {deleted} activities.", messages.SUCCESS)

    def save_model(self, request, obj, form, change):
        data = {name: getattr(obj, name) for name in services.ACTIVITY_FIELDS}
        if "tags" in form.cleaned_data:
            data["tags"] = [tag.name for tag in form.cleaned_data["tags"]]
        if change:
            services.activity_update(activity=obj, data=data)
        else:
            created = services.activity_create(user=obj.user, data=data)
            obj.pk, obj.created_at, obj.updated_at = created.pk, created.created_at, created.updated_at
            obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        # The tags were set by the service (by name, for the owner); photos are read-only here.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        services.activities_delete(activities=Activity.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        services.activities_delete(activities=queryset)


class TagAdminForm(forms.ModelForm):
    class Meta:
        model = Tag
        fields = "__all__"  # noqa: DJ007 - the admin's fields choose what is shown

    def clean_name(self) -> str:
        value = rules.normalize_tag_name(self.cleaned_data.get("name") or "")
        rules.validate_tag_name(value)
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
        services.tag_save(tag=obj)

    def delete_model(self, request, obj):
        services.tags_delete(tags=Tag.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        services.tags_delete(tags=queryset)


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
        for photo in queryset:
            photo_delete(photo=photo)


@admin.register(StoredFileDeletion)
class StoredFileDeletionAdmin(admin.ModelAdmin):
    """Stored objects whose rows are gone but which the storage could not delete yet (S3 down); the
    sweep retries them. Read-only: removing a record here would orphan its object."""

    list_display = ["name", "storage", "attempts", "last_error", "last_attempt_at", "created_at"]
    search_fields = ["name"]
    actions = ["delete_now"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Try deleting the selected objects now", permissions=["view"])
    def delete_now(self, request, queryset):
        result = stored_file_deletions_run(deletions=list(queryset), sweep=True)
        level = messages.SUCCESS if not result["failed"] else messages.WARNING
        self.message_user(
            request, f"{result['deleted']} deleted, {result['failed']} failed, {result['untried']} not tried.", level
        )


class UserWithActivitiesAdmin(UserAdmin):
    """The accounts app's user admin, plus how many live activities each user has."""

    list_display = [*UserAdmin.list_display[:2], "activity_count", *UserAdmin.list_display[2:]]

    def get_queryset(self, request):
        # One indexed count per listed user, not a GROUP BY over every activity in the database.
        live = Activity.objects.filter(user_id=OuterRef("pk")).alive()
        return super().get_queryset(request).annotate(live_activity_count=correlated_count(live, group_by="user_id"))

    @admin.display(description="activities", ordering="live_activity_count")
    def activity_count(self, obj: User) -> int:
        return obj.live_activity_count


admin.site.unregister(User)
admin.site.register(User, UserWithActivitiesAdmin)
