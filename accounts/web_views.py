"""Browser pages of the accounts app: sign up, log in and out, settings. The writes are the
services' (the same as the API's); these views translate forms and redirects."""

from django.contrib import messages
from django.contrib.auth import authenticate, update_session_auth_hash
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import forms, services
from activelog import metrics
from activelog.api.throttling import LoginAccountThrottle, LoginIPThrottle, RegisterIPThrottle
from activelog.web.throttling import throttle_wait


def _too_many(form, wait: int) -> None:
    form.add_error(None, _("Too many attempts. Try again in %(seconds)s seconds.") % {"seconds": wait})


def signup(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = forms.SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = throttle_wait(request, [RegisterIPThrottle()])
        if wait:
            _too_many(form, wait)
        else:
            try:
                user = services.user_create(**form.cleaned_data)
            except ValidationError as exc:
                form.add_domain_errors(exc)
            else:
                auth_login(request, user)  # the one configured backend
                messages.success(request, _("Welcome to ActiveLog, %(name)s.") % {"name": user.username})
                return redirect("dashboard")
    return render(request, "accounts/signup.html", {"form": form}, status=400 if form.errors else 200)


def _safe_next(request) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return None


def login(request):
    if request.user.is_authenticated:
        return redirect(_safe_next(request) or "dashboard")
    form = forms.LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        credentials = form.credentials()
        identity = {key: value for key, value in credentials.items() if key != "password"}
        wait = throttle_wait(request, [LoginIPThrottle(), LoginAccountThrottle()], data=identity)
        if wait:
            _too_many(form, wait)
        else:
            user = authenticate(request, **credentials)
            if user is None:
                metrics.LOGINS.labels(result="failure").inc()
                # One answer for an unknown account and a wrong password: no enumeration.
                form.add_error(None, _("The email or username and password do not match an account."))
            else:
                metrics.LOGINS.labels(result="success").inc()
                auth_login(request, user)
                return redirect(_safe_next(request) or "dashboard")
    context = {"form": form, "next": _safe_next(request) or ""}
    return render(request, "accounts/login.html", context, status=400 if form.errors else 200)


@require_POST
def logout(request):
    auth_logout(request)
    messages.success(request, _("You are logged out."))
    return redirect("home")


@login_required
def settings_page(request):
    user = request.user
    action = request.POST.get("action") if request.method == "POST" else None
    profile = forms.ProfileForm(request.POST if action == "profile" else None,
                                initial={"email": user.email, "timezone": user.timezone, "units": user.units},
                                prefix="profile")
    password = forms.PasswordChangeForm(request.POST if action == "password" else None, prefix="password")
    delete = forms.AccountDeleteForm(request.POST if action == "delete" else None, prefix="delete")

    if action == "profile" and profile.is_valid():
        try:
            services.user_update(user=user, data=profile.cleaned_data)
        except ValidationError as exc:
            profile.add_domain_errors(exc)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("settings")
    elif action == "password" and password.is_valid():
        try:
            services.user_change_password(user=user, **password.cleaned_data)
        except ValidationError as exc:
            password.add_domain_errors(exc)
        else:
            update_session_auth_hash(request, user)  # this browser stays signed in; others are not
            messages.success(request, _("Password changed. Other sessions and API tokens were signed out."))
            return redirect("settings")
    elif action == "delete" and delete.is_valid():
        try:
            services.user_delete(user=user, password=delete.cleaned_data["password"])
        except ValidationError as exc:
            delete.add_domain_errors(exc)
        else:
            auth_logout(request)
            messages.success(request, _("Your account and all its data were deleted."))
            return redirect("home")

    failed = any(form.errors for form in (profile, password, delete))
    context = {"profile": profile, "password_form": password, "delete_form": delete}
    return render(request, "accounts/settings.html", context, status=400 if failed else 200)
