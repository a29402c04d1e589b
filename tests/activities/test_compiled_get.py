"""activity_get runs activity_list's SQL compiled once per process (activelog.db.CompiledQuery):
it must find exactly what the ORM query finds, for any user and id."""

import pytest
from django.utils import timezone

from activelog.db import CompiledQuery
from activelog.errors import NotFound
from activities import selectors
from activities.models import Activity
from tests.support.factories import ActivityFactory, PhotoFactory


def test_it_finds_what_the_orm_query_finds(user, other_user):
    mine = [ActivityFactory(user=user, tags=["b", "a"][: n % 3]) for n in range(6)]
    theirs = ActivityFactory(user=other_user, tags=["x"])
    PhotoFactory(activity=mine[2])
    gone = ActivityFactory(user=user, deleted_at=timezone.now())
    for activity in mine:
        got = selectors.activity_get(user=user, activity_id=activity.pk)
        orm = selectors.activity_list(user=user).filter(pk=activity.pk).first()
        assert (got.pk, got.tag_names, got.photo_count, got.activity_date, got.title) == \
               (orm.pk, orm.tag_names, orm.photo_count, orm.activity_date, orm.title)
        assert isinstance(got, Activity)
    assert selectors.activity_get(user=user, activity_id=mine[2].pk).photo_count == 1
    for user_, activity_id in [(user, theirs.pk), (user, gone.pk), (other_user, mine[0].pk),
                               (user, 2**31 + 5), (user, 10**20)]:
        with pytest.raises(NotFound):
            selectors.activity_get(user=user_, activity_id=activity_id)


def test_a_stand_in_that_is_not_exactly_once_among_the_parameters_is_an_error(db):
    twice = CompiledQuery(lambda n: Activity.objects.filter(duration_minutes=n, calories_burned=n), n=987_654)
    with pytest.raises(RuntimeError, match="appears 2 times"):
        twice.run(n=1)
    absent = CompiledQuery(lambda n: Activity.objects.all(), n=987_654)
    with pytest.raises(RuntimeError, match="appears 0 times"):
        absent.run(n=1)


def test_pages_of_the_plain_list_are_the_orm_query_s_slices(user, other_user):
    """activity_list without filters reads its pages with compiled SQL too (ActivityQuerySet.paged)."""
    same_time = timezone.now().replace(microsecond=0)
    for n in range(23):  # ties on activity_date are broken by id, as in the ORM query
        ActivityFactory(user=user, activity_date=same_time if n % 4 == 0 else same_time.replace(day=1),
                        tags=["t"] if n % 2 else [])
    ActivityFactory(user=other_user)
    ActivityFactory(user=user, deleted_at=timezone.now())
    listed = selectors.activity_list(user=user)
    orm = Activity.objects.filter(user=user, deleted_at__isnull=True).order_by("-activity_date", "-id")
    assert listed.count() == 23
    for offset, limit in [(0, 20), (20, 20), (5, 7), (22, 5), (23, 5), (0, 100)]:
        page = listed[offset:offset + limit]
        assert isinstance(page, list)
        assert [a.pk for a in page] == [a.pk for a in orm[offset:offset + limit]]
        assert all(a.tag_names == (["t"] if a.tags.exists() else []) for a in page)
    assert [a.pk for a in listed.filter(tags__name="t")] == [a.pk for a in orm.filter(tags__name="t")]
    assert listed[3].pk == orm[3].pk  # other indexing: the queryset's own


def test_a_compiled_row_is_the_same_model_instance_the_orm_gives(user):
    """CompiledQuery maps columns to fields once (no converter needed on PostgreSQL), then builds
    instances itself: every field, the annotations and the instance's state as the ORM has them."""
    activity = ActivityFactory(user=user, title="All set", description="d", notes="n", calories_burned=321,
                               tags=["z", "y"])
    PhotoFactory(activity=activity)
    got = selectors.activity_get(user=user, activity_id=activity.pk)
    orm = selectors.activity_list(user=user).filter(pk=activity.pk).get()
    fields = [f.attname for f in Activity._meta.concrete_fields]
    assert {f: getattr(got, f) for f in fields} == {f: getattr(orm, f) for f in fields}
    assert (got.tag_name_list, got.photo_count) == (orm.tag_name_list, orm.photo_count)
    assert (got.tag_names, got.photo_count) == (["y", "z"], 1)
    assert (got._state.adding, got._state.db) == (False, "default")
    assert isinstance(selectors._ACTIVITY_GET._rows_plan, tuple)  # the mapping was made once, and used
