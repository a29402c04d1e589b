import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import User
from activities.models import Activity, Tag

DEFAULT_PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    timezone = "UTC"
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("user", "name")

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"tag{n}")


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    activity_type = "running"
    title = factory.Sequence(lambda n: f"Activity {n}")
    duration_minutes = 30
    distance_km = Decimal("5.00")
    calories_burned = 300
    activity_date = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))

    @factory.post_generation
    def tags(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.tags.set([TagFactory(user=obj.user, name=name) for name in extracted])
