"""Browser routes of the accounts app (sign-in pages, password reset, settings)."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import web_views

urlpatterns = [
    path("accounts/signup", web_views.signup, name="signup"),
    path("accounts/login", web_views.login, name="login"),
    path("accounts/logout", web_views.logout, name="logout"),
    path(
        "accounts/password/reset",
        auth_views.PasswordResetView.as_view(
            template_name="accounts/password_reset_form.html",
            email_template_name="accounts/password_reset_email.txt",
            subject_template_name="accounts/password_reset_subject.txt",
            success_url=reverse_lazy("password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/password_reset_confirm.html", success_url=reverse_lazy("password_reset_complete")
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/complete",
        auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path("settings", web_views.settings_page, name="settings"),
]
