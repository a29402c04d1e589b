from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.db.models import OuterRef

from accounts.models import User
from activelog.db import correlated_count
from activities.models import Activity
from activities.services import stored_files_delete_on_commit, stored_files_of_users


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = [
        "username", "email", "activity_count", "timezone", "units", "is_staff", "is_active", "date_joined",
        "last_login",
    ]
    list_filter = ["is_staff", "is_superuser", "is_active", "units", "date_joined"]
    search_fields = ["username", "email", "first_name", "last_name"]
    search_help_text = "Username, email or name."
    ordering = ["username"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        ("Preferences", {"fields": ["timezone", "units"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "email", "usable_password", "password1", "password2"]}),
    ]

    def get_queryset(self, request):
        # One indexed count per listed user, not a GROUP BY over every activity in the database.
        live = Activity.objects.filter(user_id=OuterRef("pk"), deleted_at__isnull=True)
        return super().get_queryset(request).annotate(
            live_activity_count=correlated_count(live, group_by="user_id")
        )

    @admin.display(description="activities", ordering="live_activity_count")
    def activity_count(self, obj: User) -> int:
        return obj.live_activity_count

    def delete_model(self, request, obj):
        with transaction.atomic():
            files = stored_files_of_users(user_ids=[obj.pk])
            super().delete_model(request, obj)
            stored_files_delete_on_commit(files)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            files = stored_files_of_users(user_ids=queryset.order_by().values("pk"))
            super().delete_queryset(request, queryset)
            stored_files_delete_on_commit(files)
