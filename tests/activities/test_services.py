"""The activities core services and selectors called directly, as the admin, the seed command or a
shell would: the rules hold without any interface in front of them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from activelog.errors import NotFound
from activities import selectors, services
from activities.models import Activity, Tag
from tests.support.factories import ActivityFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db


def valid(**overrides) -> dict:
    data = {
        "activity_type": "running",
        "duration_minutes": 30,
        "distance_km": Decimal("5.00"),
        "activity_date": timezone.now() - dt.timedelta(hours=1),
    }
    return {**data, **overrides}


def test_create_refuses_a_date_a_year_ahead(user):
    with pytest.raises(ValidationError) as refused:
        services.activity_create(user=user, data=valid(activity_date=timezone.now() + dt.timedelta(days=365)))

    assert refused.value.message_dict == {"activity_date": ["Cannot be more than 5 minutes in the future."]}
    assert not Activity.objects.exists()


def test_create_accepts_a_clock_a_little_ahead(user):
    activity = services.activity_create(user=user, data=valid(activity_date=timezone.now() + dt.timedelta(minutes=4)))
    assert Activity.objects.get(pk=activity.pk).user == user


@pytest.mark.parametrize(("activity_type", "messages"), [
    ("x", ["Use 2 to 50 characters."]),
    ("  y  ", ["Use 2 to 50 characters."]),
    ("", ["This field cannot be blank."]),
    ("z" * 51, ["Use 2 to 50 characters.", "Ensure this value has at most 50 characters (it has 51)."]),
])
def test_create_refuses_a_type_outside_2_to_50_characters(user, activity_type, messages):
    with pytest.raises(ValidationError) as refused:
        services.activity_create(user=user, data=valid(activity_type=activity_type))

    assert refused.value.message_dict == {"activity_type": messages}
    assert not Activity.objects.exists()


def test_create_normalises_type_and_tags(user):
    activity = services.activity_create(
        user=user, data=valid(activity_type="  Trail Running ", tags=[" Hills", "hills", "MORNING", " "])
    )

    activity.refresh_from_db()
    assert activity.activity_type == "trail running"
    assert sorted(activity.tags.values_list("name", flat=True)) == ["hills", "morning"]


def test_create_refuses_eleven_tags(user):
    with pytest.raises(ValidationError) as refused:
        services.activity_create(user=user, data=valid(tags=[f"t{n}" for n in range(11)]))

    assert refused.value.message_dict == {"tags": ["An activity has at most 10 tags."]}
    assert not Tag.objects.exists()


def test_create_bumps_the_statistics_version(user):
    before = user.stats_version
    services.activity_create(user=user, data=valid())
    user.refresh_from_db()
    assert user.stats_version == before + 1


def test_partial_update_saves_only_the_given_fields(user):
    activity = ActivityFactory(user=user, title="Before", duration_minutes=30)
    stale = Activity.objects.get(pk=activity.pk)
    Activity.objects.filter(pk=activity.pk).update(duration_minutes=45)  # someone else's change

    services.activity_update(activity=stale, data={"title": "After"})

    activity.refresh_from_db()
    assert (activity.title, activity.duration_minutes) == ("After", 45)


def test_update_refuses_a_date_a_year_ahead_and_keeps_the_row(user):
    activity = ActivityFactory(user=user)
    before = activity.activity_date

    with pytest.raises(ValidationError):
        services.activity_update(activity=activity, data={"activity_date": timezone.now() + dt.timedelta(days=365)})

    assert Activity.objects.get(pk=activity.pk).activity_date == before


def test_batch_create_keeps_the_valid_items_and_reports_the_others(user):
    unreadable = ValidationError({"duration_minutes": ["A valid integer is required."]})
    items = [valid(title="one"), valid(activity_type="x"), unreadable, valid(title="four")]

    results = services.activity_batch_create(user=user, items=items)

    assert [r.index for r in results] == [0, 1, 2, 3]
    assert [r.activity is not None for r in results] == [True, False, False, True]
    assert results[1].error.message_dict == {"activity_type": ["Use 2 to 50 characters."]}
    assert results[2].error is unreadable
    assert sorted(Activity.objects.filter(user=user).values_list("title", flat=True)) == ["four", "one"]


def test_batch_create_refuses_more_than_50(user):
    with pytest.raises(ValidationError):
        services.activity_batch_create(user=user, items=[valid()] * 51)
    assert not Activity.objects.exists()


def test_restore_outside_the_window_is_not_found(user):
    activity = ActivityFactory(user=user, deleted_at=timezone.now() - dt.timedelta(days=31))

    with pytest.raises(NotFound):
        services.activity_restore(user=user, activity_id=activity.pk)

    assert Activity.objects.get(pk=activity.pk).deleted_at is not None


def test_restore_of_another_users_activity_is_not_found(user, other_user):
    theirs = ActivityFactory(user=other_user, deleted_at=timezone.now())
    with pytest.raises(NotFound):
        services.activity_restore(user=user, activity_id=theirs.pk)


def test_soft_delete_and_restore_of_several_owners_bump_each_owner(user, other_user):
    mine, theirs = ActivityFactory(user=user), ActivityFactory(user=other_user)
    versions = (user.stats_version, other_user.stats_version)

    assert services.activities_soft_delete(activities=Activity.objects.filter(pk__in=[mine.pk, theirs.pk])) == 2
    assert services.activities_soft_delete(activities=Activity.objects.filter(pk=mine.pk)) == 0  # already
    assert services.activities_restore(activities=Activity.objects.all()) == 2

    user.refresh_from_db()
    other_user.refresh_from_db()
    assert (user.stats_version, other_user.stats_version) == (versions[0] + 2, versions[1] + 2)
    assert Activity.objects.filter(deleted_at__isnull=True).count() == 2


def test_selector_hides_other_users_and_deleted_activities(user, other_user):
    live = ActivityFactory(user=user)
    gone = ActivityFactory(user=user, deleted_at=timezone.now())
    theirs = ActivityFactory(user=other_user)

    assert selectors.activity_get(user=user, activity_id=live.pk) == live
    for activity in (gone, theirs):
        with pytest.raises(NotFound):
            selectors.activity_get(user=user, activity_id=activity.pk)
    assert list(selectors.activities_alive(user=user)) == [live]


def test_selector_filters_are_validated_and_applied(user):
    ActivityFactory(user=user, activity_type="running", tags=["hills"])
    ActivityFactory(user=user, activity_type="cycling")

    listed = selectors.activity_list(user=user, filters={"type": " Running ", "tag": "HILLS"})
    assert [a.activity_type for a in listed] == ["running"]

    with pytest.raises(ValidationError) as refused:
        list(selectors.activity_list(user=user, filters={"start_date": "yesterday"}))
    assert list(refused.value.message_dict) == ["start_date"]


def test_tag_save_normalises_the_name_and_bumps_the_owner(user):
    before = user.stats_version
    tag = services.tag_save(tag=Tag(user=user, name="  Long Run "))
    assert Tag.objects.get(pk=tag.pk).name == "long run"
    user.refresh_from_db()
    assert user.stats_version == before + 1


def test_tags_delete_counts_and_bumps_owners(user):
    TagFactory(user=user, name="a")
    other = UserFactory()
    TagFactory(user=other, name="b")
    assert services.tags_delete(tags=Tag.objects.all()) == 2
    assert not Tag.objects.exists()
