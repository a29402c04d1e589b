from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from accounts.models import User, normalize_email


class _NormalizedEmail(forms.ModelForm):
    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data.get("email") or "")


class UserAddForm(_NormalizedEmail, AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ["username", "email"]


class UserEditForm(_NormalizedEmail, UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Users; the activities app adds its own column (activities/admin.py), so this app needs to
    know nothing of activities."""

    form = UserEditForm
    add_form = UserAddForm
    list_display = [
        "username", "email", "timezone", "units", "is_staff", "is_active", "date_joined", "last_login",
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
