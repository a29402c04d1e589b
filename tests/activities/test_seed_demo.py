"""``manage.py seed_demo`` on the real PostgreSQL."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import User
from activities.management.commands.seed_demo import DEFAULT_PASSWORD
from activities.models import Activity, Tag
from tests.support.factories import ActivityFactory, UserFactory

pytestmark = pytest.mark.django_db

N = 200


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, "--no-progress", stdout=out, stderr=StringIO())
    return out.getvalue()


def fingerprint(username: str = "demo") -> list[tuple]:
    return list(
        Activity.objects.filter(user__username=username)
        .order_by("id")
        .values_list("activity_type", "duration_minutes", "distance_km", "calories_burned", "title")
    )


def demo_users() -> list[str]:
    return sorted(User.objects.filter(username__istartswith="demo").values_list("username", flat=True))


def test_creates_the_demo_user_with_realistic_valid_activities():
    before = timezone.now()
    output = seed("--activities", str(N), "--days", "365")
    after = timezone.now()

    user = User.objects.get(username="demo")
    assert user.email == "demo@example.com"
    assert user.timezone == "Europe/London"
    assert user.check_password(DEFAULT_PASSWORD)
    activities = list(Activity.objects.filter(user=user).prefetch_related("tags"))
    assert len(activities) == N

    types = {a.activity_type for a in activities}
    assert len(types) >= 5
    assert types <= {"running", "cycling", "swimming", "walking", "hiking", "yoga", "gym", "rowing"}
    tz = user.tzinfo
    for a in activities:
        assert before - dt.timedelta(days=365) <= a.activity_date <= after
        assert a.activity_type == a.activity_type.lower()
        assert 1 <= a.duration_minutes <= 1440
        assert a.calories_burned is None or 0 <= a.calories_burned <= 20000
        assert a.deleted_at is None
        assert a.title
        assert len(a.tags.all()) <= 3
        local = a.activity_date.astimezone(tz)
        assert dt.time(6) <= local.time() <= dt.time(21), local
        if a.activity_type in {"yoga", "gym"}:
            assert a.distance_km is None
        else:
            assert a.distance_km is not None
            assert Decimal(0) <= a.distance_km <= Decimal(1000)
            assert a.distance_km == a.distance_km.quantize(Decimal("0.01"))
        pace = a.pace_min_per_km
        if a.activity_type == "running":
            assert Decimal("4.4") <= pace <= Decimal("7.1"), (a.duration_minutes, a.distance_km)
        if a.activity_type == "cycling":
            assert Decimal("1.75") <= pace <= Decimal("3.05"), (a.duration_minutes, a.distance_km)

    tag_names = set(Tag.objects.filter(user=user).values_list("name", flat=True))
    assert {"morning", "evening", "outdoor", "indoor", "commute", "race", "long", "easy",
            "intervals", "recovery", "with-friends"} <= tag_names
    assert sum(1 for a in activities if a.tags.all()) > N // 2
    assert sum(1 for a in activities if a.notes or a.description) > 0
    # Rest days: far fewer distinct days than activities over a year.
    assert len({a.activity_date.astimezone(tz).date() for a in activities}) < N
    assert "1 user(s)" in output
    assert f"{N} activities inserted" in output
    assert DEFAULT_PASSWORD in output


def test_the_default_is_about_a_year_of_activities():
    seed()
    assert Activity.objects.filter(user__username="demo").count() == 300


def test_running_again_is_idempotent():
    seed("--activities", str(N))
    first = list(Activity.objects.filter(user__username="demo").order_by("id").values_list("id", flat=True))
    stats_version = User.objects.get(username="demo").stats_version

    output = seed("--activities", str(N))

    assert demo_users() == ["demo"]
    assert list(Activity.objects.filter(user__username="demo").order_by("id").values_list("id", flat=True)) == first
    assert Tag.objects.filter(user__username="demo").count() == 12
    assert "skipped" in output
    assert "0 activities inserted" in output
    assert User.objects.get(username="demo").stats_version == stats_version  # nothing changed


def test_more_activities_than_there_are_tops_up_without_duplicating():
    seed("--activities", "50")
    seed("--activities", "80")
    assert Activity.objects.filter(user__username="demo").count() == 80
    assert demo_users() == ["demo"]


def test_reset_regenerates_the_same_count_and_only_touches_demo_users():
    other = ActivityFactory(tags=["mine"])
    seed("--activities", str(N))
    user = User.objects.get(username="demo")
    old_ids = set(Activity.objects.filter(user=user).values_list("id", flat=True))
    ActivityFactory(user=user, activity_type="kayaking", tags=["custom"])
    version = User.objects.get(pk=user.pk).stats_version

    seed("--activities", str(N), "--reset")

    activities = Activity.objects.filter(user=user)
    assert activities.count() == N
    assert not old_ids & set(activities.values_list("id", flat=True))
    assert not activities.filter(activity_type="kayaking").exists()
    assert not Tag.objects.filter(user=user, name="custom").exists()
    assert Activity.tags.through.objects.filter(activity__user=user).count() > 0
    assert User.objects.get(pk=user.pk).stats_version > version  # cached statistics are invalidated
    assert Activity.objects.filter(pk=other.pk).exists()
    assert list(Activity.objects.get(pk=other.pk).tags.values_list("name", flat=True)) == ["mine"]


def test_several_users_each_get_their_own_data():
    UserFactory(username="someone")
    seed("--users", "3", "--activities", str(N))

    assert demo_users() == ["demo", "demo2", "demo3"]
    for name in ("demo", "demo2", "demo3"):
        user = User.objects.get(username=name)
        assert user.email == f"{name}@example.com"
        assert Activity.objects.filter(user=user).count() == N
        assert Tag.objects.filter(user=user).count() == 12
        # Every tag link joins an activity and a tag of the same user.
        links = Activity.tags.through.objects.filter(activity__user=user)
        assert links.exists()
        assert not links.exclude(tag__user=user).exists()
    assert fingerprint("demo") != fingerprint("demo2")
    assert not Activity.objects.filter(user__username="someone").exists()

    seed("--users", "3", "--activities", str(N))
    assert demo_users() == ["demo", "demo2", "demo3"]
    assert Activity.objects.filter(user__username__startswith="demo").count() == 3 * N


def test_the_same_seed_gives_the_same_data():
    seed("--activities", str(N), "--seed", "7")
    first = fingerprint()
    first_tags = list(
        Activity.objects.filter(user__username="demo").order_by("id", "tags__name").values_list("tags__name", flat=True)
    )
    seed("--activities", str(N), "--seed", "7", "--reset")
    assert fingerprint() == first
    assert list(
        Activity.objects.filter(user__username="demo").order_by("id", "tags__name").values_list("tags__name", flat=True)
    ) == first_tags

    seed("--activities", str(N), "--seed", "8", "--reset")
    assert fingerprint() != first


def test_days_bounds_the_history():
    before = timezone.now()
    seed("--activities", "100", "--days", "14")
    dates = Activity.objects.filter(user__username="demo").values_list("activity_date", flat=True)
    assert len(dates) == 100
    assert all(before - dt.timedelta(days=14) <= d <= timezone.now() for d in dates)


def test_the_demo_user_can_sign_in_with_the_password(api_client):
    seed("--activities", "20", "--password", "another-demo-secret-77")

    response = api_client.post(
        "/api/v1/auth/login", {"username": "demo", "password": "another-demo-secret-77"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["user"]["username"] == "demo"
    assert response.json()["access"]

    response = api_client.post(
        "/api/v1/auth/login", {"email": "demo@example.com", "password": DEFAULT_PASSWORD}, format="json"
    )
    assert response.status_code == 401


def test_a_changed_password_is_put_back_to_the_given_one():
    seed("--activities", "10")
    user = User.objects.get(username="demo")
    user.set_password("something-else-entirely-5")
    user.save()

    seed("--activities", "10")

    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_a_weak_password_is_refused():
    with pytest.raises(CommandError, match="password"):
        seed("--password", "123")
    assert not User.objects.filter(username="demo").exists()


@pytest.mark.parametrize(
    "args", [["--users", "0"], ["--days", "0"], ["--activities", "-1"], ["--batch-size", "0"]]
)
def test_invalid_options_are_refused(args):
    with pytest.raises(CommandError):
        seed(*args)


def test_refuses_to_run_in_production_unless_allowed(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        seed("--activities", "5")
    assert not User.objects.filter(username="demo").exists()

    seed("--activities", "5", "--allow-production")
    assert Activity.objects.filter(user__username="demo").count() == 5


def test_small_batches_give_the_same_result():
    seed("--activities", str(N), "--batch-size", "7")
    small = fingerprint()
    links = Activity.tags.through.objects.filter(activity__user__username="demo").count()
    seed("--activities", str(N), "--reset")
    assert fingerprint() == small
    assert Activity.tags.through.objects.filter(activity__user__username="demo").count() == links
