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
