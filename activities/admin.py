from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils import timezone

from activities.models import Activity, Photo, Tag


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
    list_display = [
        "id", "user", "activity_type", "title", "activity_date", "duration_minutes",
        "distance_km", "calories_burned", "tag_list", "is_deleted",
    ]
    list_filter = ["activity_type", "activity_date", DeletedFilter]
    search_fields = ["title", "description", "notes", "user__username", "user__email", "activity_type"]
    date_hierarchy = "activity_date"
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    filter_horizontal = ["tags"]
    readonly_fields = ["created_at", "updated_at", "deleted_at"]
    inlines = [PhotoInline]
    actions = ["restore_activities", "soft_delete_activities"]
    list_per_page = 50

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")

    @admin.display(description="tags")
    def tag_list(self, obj: Activity) -> str:
        return ", ".join(sorted(tag.name for tag in obj.tags.all()))

    @admin.display(boolean=True, description="deleted")
    def is_deleted(self, obj: Activity) -> bool:
        return obj.is_deleted

    @admin.action(description="Restore selected soft-deleted activities")
    def restore_activities(self, request, queryset):
        restored = queryset.filter(deleted_at__isnull=False).update(deleted_at=None, updated_at=timezone.now())
        self.message_user(request, f"Restored {restored} activities.", messages.SUCCESS)

    @admin.action(description="Soft-delete selected activities")
    def soft_delete_activities(self, request, queryset):
        now = timezone.now()
        deleted = queryset.filter(deleted_at__isnull=True).update(deleted_at=now, updated_at=now)
        self.message_user(request, f"Soft-deleted {deleted} activities.", messages.SUCCESS)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "usage"]
    search_fields = ["name", "user__username"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(usage_count=Count("activities", filter=Q(activities__deleted_at__isnull=True)))
        )

    @admin.display(description="live activities", ordering="usage_count")
    def usage(self, obj: Tag) -> int:
        return obj.usage_count


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ["id", "activity", "content_type", "file_size", "width", "height", "uploaded_at"]
    list_select_related = ["activity"]
    readonly_fields = ["uploaded_at"]
    raw_id_fields = ["activity"]
