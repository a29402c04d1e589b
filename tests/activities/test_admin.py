"""The Django admin: users, activities and tags, through Django's test client as a superuser."""

import datetime as dt
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from activities.models import Activity, Tag
from tests.support.factories import ActivityFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db

ACTIVITIES = reverse("admin:activities_activity_changelist")
TAGS = reverse("admin:activities_tag_changelist")
USERS = reverse("admin:accounts_user_changelist")


@pytest.fixture
def admin_user(db):
    return User.objects.create_superuser(username="root", email="root@example.com", password="admin-pass-2026-x")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def ids_in(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def test_the_admin_is_mounted_at_the_default_admin_url(client, admin_client):
    assert settings.ADMIN_URL == "admin/"
    assert reverse("admin:index") == "/admin/"
    assert admin_client.get("/admin/").status_code == 200


def test_anonymous_visitors_are_sent_to_the_admin_login(client):
    response = client.get(ACTIVITIES)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_activity_changelist_shows_tags(admin_client, user):
    ActivityFactory(user=user, title="Tempo by the river", tags=["zeta-tag", "alpha-tag"])
    ActivityFactory(user=user, title="No tags")

    response = admin_client.get(ACTIVITIES)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Tempo by the river" in body
    assert "alpha-tag, zeta-tag" in body
    assert len(ids_in(response)) == 2


def test_activity_changelist_queries_do_not_grow_with_rows(admin_client, user, django_assert_max_num_queries):
    for i in range(30):
        ActivityFactory(user=user, tags=[f"t{i % 3}"])
    with django_assert_max_num_queries(12):
        assert admin_client.get(ACTIVITIES).status_code == 200


def test_deleted_filter(admin_client, user):
    live = ActivityFactory(user=user)
    gone = ActivityFactory(user=user, deleted_at=timezone.now())

    assert ids_in(admin_client.get(ACTIVITIES, {"deleted": "yes"})) == {gone.pk}
    assert ids_in(admin_client.get(ACTIVITIES, {"deleted": "no"})) == {live.pk}
    assert ids_in(admin_client.get(ACTIVITIES)) == {live.pk, gone.pk}


def test_type_and_date_filters_and_date_hierarchy(admin_client, user):
    run = ActivityFactory(user=user, activity_type="running")
    old_ride = ActivityFactory(
        user=user, activity_type="cycling", activity_date=dt.datetime(2024, 5, 4, 8, tzinfo=dt.UTC)
    )

    assert ids_in(admin_client.get(ACTIVITIES, {"activity_type": "cycling"})) == {old_ride.pk}
    response = admin_client.get(ACTIVITIES, {"activity_date__year": "2024", "activity_date__month": "5"})
    assert response.status_code == 200
    assert ids_in(response) == {old_ride.pk}
    # The date filter's own "Past 7 days" link.
    changelist = admin_client.get(ACTIVITIES).context["cl"]
    date_filter = next(spec for spec in changelist.filter_specs if spec.title == "activity date")
    past_week = next(choice for choice in date_filter.choices(changelist) if choice["display"] == "Past 7 days")
    assert ids_in(admin_client.get(ACTIVITIES + past_week["query_string"])) == {run.pk}


def test_search(admin_client, user, other_user):
    match = ActivityFactory(user=user, title="Parkrun PB attempt")
    in_notes = ActivityFactory(user=user, title="Saturday", notes="Parkrun with friends")
    ActivityFactory(user=user, title="Swim")
    by_owner = ActivityFactory(user=other_user, title="Other")

    assert ids_in(admin_client.get(ACTIVITIES, {"q": "parkrun"})) == {match.pk, in_notes.pk}
    assert ids_in(admin_client.get(ACTIVITIES, {"q": other_user.username})) == {by_owner.pk}


def test_restore_action_clears_deleted_at(admin_client, user, other_user):
    gone = ActivityFactory(user=user, deleted_at=timezone.now() - dt.timedelta(days=3))
    old_gone = ActivityFactory(user=other_user, deleted_at=timezone.now() - dt.timedelta(days=90))
    live = ActivityFactory(user=user)
    untouched = ActivityFactory(user=user, deleted_at=timezone.now())
    versions = {u.pk: u.stats_version for u in (user, other_user)}

    response = admin_client.post(
        ACTIVITIES,
        {"action": "restore_activities", "_selected_action": [gone.pk, old_gone.pk, live.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Restored 2 activities." in response.content.decode()
    for activity in (gone, old_gone, live):
        activity.refresh_from_db()
        assert activity.deleted_at is None
    untouched.refresh_from_db()
    assert untouched.deleted_at is not None
    for u in (user, other_user):  # cached statistics of both owners are invalidated
        u.refresh_from_db()
        assert u.stats_version > versions[u.pk]


def test_soft_delete_action(admin_client, user):
    activity = ActivityFactory(user=user)

    admin_client.post(ACTIVITIES, {"action": "soft_delete_activities", "_selected_action": [activity.pk]})

    activity.refresh_from_db()
    assert activity.deleted_at is not None
    assert Activity.objects.filter(pk=activity.pk).exists()


def test_a_view_only_staff_user_cannot_restore(client, user):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_activity"))
    client.force_login(staff)
    gone = ActivityFactory(user=user, deleted_at=timezone.now())

    assert client.get(ACTIVITIES).status_code == 200
    client.post(ACTIVITIES, {"action": "restore_activities", "_selected_action": [gone.pk]})

    gone.refresh_from_db()
    assert gone.deleted_at is not None


def test_activity_change_page_and_edit(admin_client, user, other_user):
    mine = TagFactory(user=user, name="morning")
    TagFactory(user=other_user, name="secret-of-other")
    activity = ActivityFactory(user=user, tags=["easy"])
    url = reverse("admin:activities_activity_change", args=[activity.pk])

    response = admin_client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "secret-of-other" not in body  # only the owner's tags are offered

    data = {
        "activity_type": "  Running ", "title": "Edited", "description": "", "duration_minutes": "42",
        "distance_km": "8.40", "calories_burned": "400", "notes": "", "activity_date_0": "2026-01-02",
        "activity_date_1": "07:00:00", "tags": [mine.pk],
        "photos-TOTAL_FORMS": "0", "photos-INITIAL_FORMS": "0", "photos-MIN_NUM_FORMS": "0",
        "photos-MAX_NUM_FORMS": "1000",
    }
    version = user.stats_version
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    activity.refresh_from_db()
    assert activity.activity_type == "running"
    assert activity.duration_minutes == 42
    assert list(activity.tags.values_list("name", flat=True)) == ["morning"]
    user.refresh_from_db()
    assert user.stats_version > version


def test_activity_edit_refuses_values_outside_the_constraints(admin_client, user):
    activity = ActivityFactory(user=user)
    url = reverse("admin:activities_activity_change", args=[activity.pk])
    data = {
        "activity_type": "running", "title": "", "description": "", "duration_minutes": "2000",
        "distance_km": "5", "calories_burned": "", "notes": "", "activity_date_0": "2026-01-02",
        "activity_date_1": "07:00:00", "photos-TOTAL_FORMS": "0", "photos-INITIAL_FORMS": "0",
        "photos-MIN_NUM_FORMS": "0", "photos-MAX_NUM_FORMS": "1000",
    }

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    activity.refresh_from_db()
    assert activity.duration_minutes == 30


def _activity_form(user, when: dt.datetime, **overrides) -> dict:
    local = timezone.localtime(when)
    data = {
        "user": user.pk, "activity_type": "yoga", "title": "", "description": "", "duration_minutes": "30",
        "distance_km": "", "calories_burned": "", "notes": "", "activity_date_0": f"{local:%Y-%m-%d}",
        "activity_date_1": f"{local:%H:%M:%S}", "photos-TOTAL_FORMS": "0", "photos-INITIAL_FORMS": "0",
        "photos-MIN_NUM_FORMS": "0", "photos-MAX_NUM_FORMS": "1000",
    }
    return {**data, **overrides}


def test_activity_add_refuses_a_date_a_year_ahead(admin_client, user):
    data = _activity_form(user, timezone.now() + dt.timedelta(days=365))

    response = admin_client.post(reverse("admin:activities_activity_add"), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["activity_date"] == ["Cannot be more than 5 minutes in the future."]
    assert not Activity.objects.filter(user=user).exists()


def test_activity_edit_refuses_a_date_a_year_ahead(admin_client, user):
    activity = ActivityFactory(user=user)
    before = activity.activity_date
    url = reverse("admin:activities_activity_change", args=[activity.pk])

    response = admin_client.post(url, _activity_form(user, timezone.now() + dt.timedelta(days=365)))

    assert response.status_code == 200
    assert "activity_date" in response.context["adminform"].form.errors
    activity.refresh_from_db()
    assert activity.activity_date == before


def test_activity_add_saves_through_the_service(admin_client, user):
    """Normalised like the API's (type lower-cased, tags by name for the owner), counted in the
    owner's statistics version."""
    morning = TagFactory(user=user, name="morning")
    version = user.stats_version
    data = _activity_form(user, timezone.now() - dt.timedelta(hours=2), activity_type="  Yoga ", tags=[morning.pk])

    response = admin_client.post(reverse("admin:activities_activity_add"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    activity = Activity.objects.get(user=user)
    assert activity.activity_type == "yoga"
    assert list(activity.tags.values_list("name", flat=True)) == ["morning"]
    assert response["Location"] == reverse("admin:activities_activity_changelist")
    user.refresh_from_db()
    assert user.stats_version > version


def test_activity_add_refuses_another_users_tags(admin_client, user, other_user):
    theirs = TagFactory(user=other_user, name="theirs")
    data = {
        "user": user.pk, "activity_type": "yoga", "title": "", "description": "", "duration_minutes": "30",
        "distance_km": "", "calories_burned": "", "notes": "", "activity_date_0": "2026-01-02",
        "activity_date_1": "07:00:00", "tags": [theirs.pk], "photos-TOTAL_FORMS": "0",
        "photos-INITIAL_FORMS": "0", "photos-MIN_NUM_FORMS": "0", "photos-MAX_NUM_FORMS": "1000",
    }

    response = admin_client.post(reverse("admin:activities_activity_add"), data)

    assert response.status_code == 200
    assert "tags" in response.context["adminform"].form.errors
    assert not Activity.objects.filter(user=user).exists()


def test_user_changelist_and_change_page(admin_client, user):
    ActivityFactory.create_batch(3, user=user)
    ActivityFactory(user=user, deleted_at=timezone.now())

    response = admin_client.get(USERS)
    assert response.status_code == 200
    assert user.username in response.content.decode()
    row = next(u for u in response.context["cl"].result_list if u.pk == user.pk)
    assert row.live_activity_count == 3

    assert admin_client.get(USERS, {"q": user.email}).status_code == 200
    assert {u.pk for u in admin_client.get(USERS, {"q": user.email}).context["cl"].result_list} == {user.pk}

    response = admin_client.get(reverse("admin:accounts_user_change", args=[user.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="timezone"' in body
    assert 'name="units"' in body


def test_user_add_page_creates_a_user_who_can_sign_in(admin_client, api_client):
    url = reverse("admin:accounts_user_add")
    assert admin_client.get(url).status_code == 200

    response = admin_client.post(url, {
        "username": "newbie", "email": "Newbie@Example.com", "usable_password": "true",
        "password1": "a-strong-pass-2026", "password2": "a-strong-pass-2026",
    })

    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="newbie")
    assert user.email == "newbie@example.com"
    assert user.check_password("a-strong-pass-2026")
    assert user.timezone == "UTC"
    assert not user.is_staff
    response = api_client.post("/api/v1/auth/login", {"username": "newbie", "password": "a-strong-pass-2026"})
    assert response.status_code == 200


def test_user_add_refuses_a_username_or_email_taken_ignoring_case(admin_client, user):
    url = reverse("admin:accounts_user_add")
    response = admin_client.post(url, {
        "username": user.username.upper(), "email": user.email.upper(), "usable_password": "true",
        "password1": "a-strong-pass-2026", "password2": "a-strong-pass-2026",
    })

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "username" in errors
    assert User.objects.filter(username__iexact=user.username).count() == 1


def test_user_can_be_deleted_through_the_admin(admin_client, user):
    ActivityFactory(user=user, tags=["x"])
    response = admin_client.post(reverse("admin:accounts_user_delete", args=[user.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    assert not Activity.objects.filter(user_id=user.pk).exists()


def test_tag_changelist_shows_live_usage_counts(admin_client, user, other_user):
    ActivityFactory(user=user, tags=["commute"])
    ActivityFactory(user=user, tags=["commute", "rainy"])
    ActivityFactory(user=user, tags=["commute"], deleted_at=timezone.now())
    TagFactory(user=other_user, name="unused")

    response = admin_client.get(TAGS)

    assert response.status_code == 200
    counts = {(t.user_id, t.name): t.usage_count for t in response.context["cl"].result_list}
    assert counts == {(user.pk, "commute"): 2, (user.pk, "rainy"): 1, (other_user.pk, "unused"): 0}
    assert "Live activities" in response.content.decode()
    ordered = admin_client.get(TAGS, {"o": "-3"})  # by usage, descending
    assert next(t.name for t in ordered.context["cl"].result_list) == "commute"


def test_tag_add_normalises_the_name(admin_client, user):
    response = admin_client.post(reverse("admin:activities_tag_add"), {"user": user.pk, "name": "  Long Run "})
    assert response.status_code == 302
    assert Tag.objects.filter(user=user, name="long run").exists()

    response = admin_client.post(reverse("admin:activities_tag_add"), {"user": user.pk, "name": "LONG RUN"})
    assert response.status_code == 200  # the same name for the same user
    assert Tag.objects.filter(user=user).count() == 1


def test_seeded_data_renders_in_the_admin(admin_client):
    call_command("seed_demo", "--activities", "120", "--no-progress", stdout=StringIO())

    assert admin_client.get(ACTIVITIES).status_code == 200
    assert admin_client.get(ACTIVITIES, {"activity_date__year": str(timezone.now().year)}).status_code == 200
    assert admin_client.get(TAGS).status_code == 200
    response = admin_client.get(USERS)
    demo = next(u for u in response.context["cl"].result_list if u.username == "demo")
    assert demo.live_activity_count == 120


def test_admin_deletions_remove_stored_photo_files(admin_client, s3_media, django_capture_on_commit_callbacks):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from activities.models import Photo
    from activities.photos.services import photo_attach
    from tests.support.factories import ActivityFactory

    def jpeg():
        buffer = io.BytesIO()
        Image.new("RGB", (40, 30), "red").save(buffer, "JPEG")
        return SimpleUploadedFile("a.jpg", buffer.getvalue(), content_type="image/jpeg")

    def keys():
        return s3_media.list_objects_v2(Bucket=s3_media.bucket).get("KeyCount", 0)

    first, second = ActivityFactory(), ActivityFactory()
    photo = photo_attach(activity=first, files=[jpeg()])[0]
    photo_attach(activity=second, files=[jpeg()])
    assert keys() == 4
    assert admin_client.get("/admin/activities/photo/add/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/admin/activities/photo/{photo.pk}/delete/", {"post": "yes"})
    assert keys() == 2 and not Photo.objects.filter(pk=photo.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/admin/activities/activity/{second.pk}/delete/", {"post": "yes"})
    assert keys() == 0
