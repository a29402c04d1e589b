"""ActivityOutputSerializer writes its fields out by hand (speed); the bytes a client gets must be
exactly those of DRF's ModelSerializer for the same fields."""

import datetime as dt
import random
import zoneinfo
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.serializers import ModelSerializer

from activities import selectors
from activities.models import Activity
from activities.serializers import ActivityOutputSerializer
from tests.support.factories import ActivityFactory, PhotoFactory

START = dt.datetime(2026, 3, 1, 7, tzinfo=dt.UTC)


def drf(activity) -> dict:
    """What ModelSerializer itself makes of the declared fields."""
    return ModelSerializer.to_representation(ActivityOutputSerializer(), activity)


def rendered(data) -> bytes:
    return JSONRenderer().render(data)


@pytest.fixture
def varied(user):
    rng = random.Random(17)
    made = []
    for _ in range(40):
        made.append(ActivityFactory(
            user=user,
            activity_type=rng.choice(["running", "cycling", "yoga", "ski touring"]),
            title=rng.choice(["", "Morning run", "Über den Berg ☀", 'quotes " and \\ backslash']),
            description=rng.choice(["", "line one\nline two"]),
            duration_minutes=rng.randint(1, 1440),
            distance_km=rng.choice([None, Decimal("0.01"), Decimal("5.20"), Decimal(rng.randint(1, 99999)) / 100]),
            calories_burned=rng.choice([None, 0, rng.randint(1, 5000)]),
            notes=rng.choice(["", "ünïcödé notes"]),
            activity_date=START - dt.timedelta(minutes=rng.randint(0, 10**6), microseconds=rng.randint(0, 999999)),
            tags=rng.sample(["hills", "base", "race", "z-last", "a-first", "Mixed"], rng.randint(0, 4)),
        ))
    PhotoFactory(activity=made[3])
    PhotoFactory(activity=made[3])
    return made


def test_the_fields_are_those_of_meta_in_the_same_order(varied):
    assert list(ActivityOutputSerializer(varied[0]).data) == ActivityOutputSerializer.Meta.fields


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
def test_the_bytes_equal_model_serializer_output(varied, user, zone):
    listed = list(selectors.activity_list(user=user))  # annotated: tag names, photo counts
    plain = list(Activity.objects.filter(user=user))  # neither: read through the relations
    assert len(listed) == len(plain) == 40
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        for activity in listed + plain:
            assert rendered(ActivityOutputSerializer(activity).data) == rendered(drf(activity)), activity.pk
        many = ActivityOutputSerializer(listed, many=True).data
        assert rendered(many) == rendered([drf(a) for a in listed])
    assert any(a.photo_count == 2 for a in listed)
    assert any(a.distance_km is None for a in listed) and any(a.calories_burned is None for a in listed)
