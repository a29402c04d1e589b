import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import User
from activities.models import Activity, ExportJob, Photo, Tag
from tests.support.images import image_bytes

DEFAULT_PASSWORD = "correct-horse-battery-9"


def days_ago(days: int, tz: str = "UTC") -> dt.datetime:
    """This moment's wall-clock time `days` calendar days ago in `tz`: its local date there is exactly
    today - days whatever the hour of the run (unlike now - days - a few hours, which falls a day earlier
    shortly after local midnight), and it is never in the future."""
    return timezone.now().astimezone(ZoneInfo(tz)) - dt.timedelta(days=days)


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


class PhotoFactory(factory.django.DjangoModelFactory):
    """A stored photo row with real (small) JPEG objects in the current media storage, as the
    upload pipeline would leave them."""

    class Meta:
        model = Photo

    activity = factory.SubFactory(ActivityFactory)
    image = factory.LazyFunction(lambda: ContentFile(image_bytes("JPEG", size=(64, 48)), name="photo.jpg"))
    thumbnail = factory.LazyFunction(lambda: ContentFile(image_bytes("JPEG", size=(32, 24)), name="photo_thumb.jpg"))
    content_type = "image/jpeg"
    file_size = factory.LazyAttribute(lambda o: o.image.size)
    width = 64
    height = 48


class ExportJobFactory(factory.django.DjangoModelFactory):
    """A PDF report job; ``completed=True`` gives it a stored file, as a finished job has."""

    class Meta:
        model = ExportJob

    class Params:
        completed = factory.Trait(
            status=ExportJob.Status.COMPLETED,
            progress=100,
            record_count=0,
            completed_at=factory.LazyFunction(timezone.now),
            file=factory.LazyFunction(lambda: ContentFile(b"%PDF-1.4 test report", name="report.pdf")),
            file_size=20,
        )

    user = factory.SubFactory(UserFactory)
    start_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=29))
    end_date = factory.LazyFunction(timezone.localdate)
