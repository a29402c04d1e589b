"""Every write to accounts goes through here."""

from django.contrib.auth import password_validation
from django.contrib.auth.models import update_last_login
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User, normalize_email
from accounts.tokens import PASSWORD_CLAIM, issued_under_current_password, password_fingerprint
from activelog.db import model_update
from activelog.errors import NotAuthenticated


def _validate_password(password: str, user: User, *, field: str) -> None:
    """Django's password validators, with their messages reported under ``field``."""
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from None


def _check_unique(*, username: str | None = None, email: str | None = None, exclude_id: int | None = None):
    errors = {}
    others = User.objects.exclude(pk=exclude_id) if exclude_id else User.objects.all()
    if username is not None and others.filter(username__iexact=username).exists():
        errors["username"] = ["A user with that username already exists."]
    if email is not None and others.filter(email__iexact=email).exists():
        errors["email"] = ["A user with that email already exists."]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def user_create(*, username: str, email: str, password: str) -> User:
    username = username.strip()
    email = normalize_email(email)
    user = User(username=username, email=email)
    errors: dict[str, list[str]] = {}
    for check in (
        lambda: _check_unique(username=username, email=email),
        lambda: _validate_password(password, user, field="password"),
    ):
        try:
            check()
        except ValidationError as exc:  # report every problem at once, not one per attempt
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    user.full_clean(validate_unique=False, validate_constraints=False)  # checked above, ignoring case
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # a concurrent registration won the race
        raise ValidationError({"username": ["A user with that username or email already exists."]}) from None
    return user


@transaction.atomic
def user_update(*, user: User, data: dict) -> User:
    """Change the e-mail address, time zone or units (each optional)."""
    if "email" in data:
        data = {**data, "email": normalize_email(data["email"])}
        _check_unique(email=data["email"], exclude_id=user.pk)
    try:
        with transaction.atomic():
            model_update(instance=user, fields=("email", "timezone", "units"), data=data)
    except IntegrityError:
        raise ValidationError({"email": ["A user with that email already exists."]}) from None
    return user


def user_revoke_refresh_tokens(*, user: User) -> int:
    """Blacklist every outstanding refresh token of the user (sign out everywhere)."""
    tokens = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    created = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in tokens], ignore_conflicts=True
    )
    return len(created)


@transaction.atomic
def user_change_password(*, user: User, current_password: str, new_password: str) -> None:
    if not user.check_password(current_password):
        raise ValidationError({"current_password": ["The current password is incorrect."]})
    _validate_password(new_password, user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    # Every token carries a fingerprint of the password (accounts/tokens.py): old access tokens
    # stop working at once; refresh tokens are blacklisted too.
    user_revoke_refresh_tokens(user=user)


@transaction.atomic
def user_delete(*, user: User, password: str) -> None:
    """Delete the account and everything of it. Its rows go by CASCADE; the apps that store files
    for it remove them once the deletion has committed (their post_delete receivers)."""
    if not user.check_password(password):
        raise ValidationError({"password": ["The password is incorrect."]})
    user_revoke_refresh_tokens(user=user)
    user.delete()


def tokens_for_user(*, user: User) -> dict[str, str]:
    """Issue a refresh/access pair; the refresh token is recorded so it can be revoked."""
    refresh = RefreshToken.for_user(user)
    refresh[PASSWORD_CLAIM] = password_fingerprint(user)  # copied into the access token too
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def user_login(*, user: User) -> dict[str, str]:
    update_last_login(None, user)
    return tokens_for_user(user=user)


@transaction.atomic
def token_refresh(*, refresh: str) -> dict[str, str]:
    """Rotate a refresh token: the presented one is blacklisted, a new pair is issued.

    The outstanding-token row is locked, so two concurrent refreshes with the same token cannot
    both succeed.
    """
    try:
        token = RefreshToken(refresh)
    except TokenError as exc:
        raise NotAuthenticated(str(exc)) from None
    jti = token.payload.get(jwt_settings.JTI_CLAIM)
    outstanding = OutstandingToken.objects.select_for_update().filter(jti=jti).first()
    if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
        raise NotAuthenticated("Token is blacklisted")
    user = User.objects.filter(pk=token.payload.get(jwt_settings.USER_ID_CLAIM), is_active=True).first()
    if user is None or not issued_under_current_password(token.payload, user):
        raise NotAuthenticated("Token is no longer valid")
    BlacklistedToken.objects.create(token=outstanding)
    return tokens_for_user(user=user)


def token_revoke(*, user: User, refresh: str) -> None:
    """Logout: the given refresh token (which must be the caller's) stops working."""
    try:
        token = RefreshToken(refresh)
    except TokenError as exc:
        raise ValidationError({"refresh": [f"Invalid refresh token: {exc}"]}) from None
    if str(token.payload.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise ValidationError({"refresh": ["Invalid refresh token: it does not belong to this account."]})
    token.blacklist()
