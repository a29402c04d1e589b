import zoneinfo
from functools import cache

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower

USERNAME_RULE = RegexValidator(
    r"^[A-Za-z0-9_.-]{3,30}$",
    "Use 3 to 30 characters: letters, digits, underscore, dot or hyphen.",
)


@cache
def timezone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def normalize_email(value: str) -> str:
    """E-mail addresses are compared and stored trimmed and lower-cased (one account per mailbox,
    however it is typed)."""
    return (value or "").strip().lower()


def validate_timezone(value: str) -> None:
    if value not in timezone_names():
        raise ValidationError(f"{value!r} is not an IANA time zone name (for example Europe/Paris).")


class UserQuerySet(models.QuerySet):
    def update(self, **kwargs):
        """A bulk update (the statistics version bump, admin actions) also drops the users from
        the authentication cache, as save() does (accounts/user_cache.py)."""
        from accounts import user_cache

        if not user_cache.enabled():
            return super().update(**kwargs)
        pks = list(self.values_list("pk", flat=True))
        count = super().update(**kwargs)
        user_cache.forget_users(pks)
        return count


class CaseInsensitiveUserManager(UserManager.from_queryset(UserQuerySet)):
    def get_by_natural_key(self, username):
        return self.get(username__iexact=username)

    @classmethod
    def normalize_email(cls, email):
        # Used by create_user/create_superuser (createsuperuser): the same rule as everywhere.
        return normalize_email(email)


class User(AbstractUser):
    class Units(models.TextChoices):
        METRIC = "metric", "Metric"
        IMPERIAL = "imperial", "Imperial"

    username = models.CharField(
        max_length=30,
        unique=True,  # plus the case-insensitive constraint below
        validators=[USERNAME_RULE],
        help_text="3 to 30 characters: letters, digits, _ . -; unique ignoring case.",
        error_messages={"unique": "A user with that username already exists."},
    )
    email = models.EmailField(max_length=254)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    units = models.CharField(max_length=8, choices=Units.choices, default=Units.METRIC)
    # Bumped in the same transaction as every write to the user's activities, their tags or photos;
    # it is part of the key of everything cached from them (statistics, the list's total, one
    # activity), so a cached answer can never outlive the data it was read from.
    stats_version = models.PositiveBigIntegerField(default=0, editable=False)

    objects = CaseInsensitiveUserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(units__in=["metric", "imperial"]), name="user_units_valid"
            ),
        ]

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)
