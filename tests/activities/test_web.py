"""The activities pages through Django's test client (the same flows in a real browser:
tests/browser/)."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from activities.models import Activity, Photo
from tests.support.factories import ActivityFactory, PhotoFactory, UserFactory
from tests.support.images import jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client, user):
    client.force_login(user)
    return client


def form_data(**overrides) -> dict:
    when = timezone.localtime(timezone.now() - dt.timedelta(hours=2))
    data = {"activity_type": "Running", "title": "Hill reps", "activity_date": f"{when:%Y-%m-%dT%H:%M}",
            "duration_minutes": "45", "distance": "8.5", "calories_burned": "520", "tags": "hills, Morning",
            "notes": "felt strong", "description": ""}
    return {**data, **overrides}


def test_the_empty_list_invites_to_log_the_first_activity(browser):
    body = browser.get("/activities").content.decode()
    assert "Nothing logged yet" in body and 'href="/activities/new"' in body


def test_log_an_activity_in_local_time_and_see_it(browser, user):
    user.timezone = "America/New_York"
    user.save(update_fields=["timezone"])
    response = browser.post("/activities/new", form_data(activity_date="2026-01-15T07:30"))
    assert response.status_code == 302
    activity = Activity.objects.get(user=user)
    assert response["Location"] == f"/activities/{activity.pk}"
    assert activity.activity_date == dt.datetime(2026, 1, 15, 12, 30, tzinfo=dt.UTC)
    assert activity.activity_type == "running"
    assert sorted(activity.tags.values_list("name", flat=True)) == ["hills", "morning"]
    page = browser.get(response["Location"]).content.decode()
    assert "Hill reps" in page and "8.50 km" in page and "5:18 /km" in page
    assert "Thursday 15 January 2026, 07:30" in page


def test_imperial_people_enter_and_read_miles(browser, user):
    user.units = "imperial"
    user.save(update_fields=["units"])
    browser.post("/activities/new", form_data(distance="5", duration_minutes="40"))
    activity = Activity.objects.get(user=user)
    assert activity.distance_km == Decimal("8.05")
    page = browser.get(f"/activities/{activity.pk}").content.decode()
    assert "5.00 mi" in page and "8:00 /mi" in page


def test_a_future_date_comes_back_with_the_values_kept(browser, user):
    later = timezone.localtime(timezone.now() + dt.timedelta(days=365))
    response = browser.post("/activities/new", form_data(activity_date=f"{later:%Y-%m-%dT%H:%M}"))
    assert response.status_code == 400
    body = response.content.decode()
    assert "Cannot be more than 5 minutes in the future." in body
    assert 'aria-invalid="true"' in body and 'id="id_activity_date_errors"' in body
    assert 'value="Hill reps"' in body
    assert not Activity.objects.exists()


def test_a_photo_can_be_attached_while_logging(browser, user, tmp_path):
    upload = jpeg()
    response = browser.post("/activities/new", {**form_data(), "photos": [upload]})
    assert response.status_code == 302
    activity = Activity.objects.get(user=user)
    assert Photo.objects.filter(activity=activity).count() == 1
    assert "Photo 1 of this activity" in browser.get(response["Location"]).content.decode()


def test_another_persons_activity_is_a_404_page(browser, other_user):
    theirs = ActivityFactory(user=other_user)
    for path in [f"/activities/{theirs.pk}", f"/activities/{theirs.pk}/edit"]:
        response = browser.get(path)
        assert response.status_code == 404 and "Page not found" in response.content.decode()
    assert browser.post(f"/activities/{theirs.pk}/delete").status_code == 404
    assert Activity.objects.get(pk=theirs.pk).deleted_at is None


def test_edit_shows_the_current_values_and_saves(browser, user):
    activity = ActivityFactory(user=user, title="Before", tags=["easy"])
    page = browser.get(f"/activities/{activity.pk}/edit").content.decode()
    assert 'value="Before"' in page and 'value="easy"' in page
    response = browser.post(f"/activities/{activity.pk}/edit", form_data(title="After", tags=""))
    assert response.status_code == 302
    activity.refresh_from_db()
    assert activity.title == "After" and not activity.tags.exists()


def test_delete_offers_undo_and_the_trash_restores(browser, user):
    activity = ActivityFactory(user=user, title="Oops")
    response = browser.post(f"/activities/{activity.pk}/delete")
    assert response["Location"] == f"/activities?deleted={activity.pk}"
    page = browser.get(response["Location"]).content.decode()
    assert "“Oops” was deleted." in page and f'action="/activities/{activity.pk}/restore"' in page

    assert "Oops" in browser.get("/activities/trash").content.decode()
    restored = browser.post(f"/activities/{activity.pk}/restore", {"from": "trash"})
    assert restored["Location"] == "/activities/trash"
    assert Activity.objects.get(pk=activity.pk).deleted_at is None


def test_delete_with_htmx_answers_in_place_with_undo(browser, user):
    activity = ActivityFactory(user=user, title="Gone")
    response = browser.post(f"/activities/{activity.pk}/delete", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert 'role="status"' in body and "“Gone” was deleted." in body
    assert f'action="/activities/{activity.pk}/restore"' in body
    assert Activity.objects.get(pk=activity.pk).deleted_at is not None


def test_filters_sort_and_pages(browser, user):
    base = timezone.now() - dt.timedelta(days=1)
    for n in range(25):
        ActivityFactory(user=user, activity_type="running", title=f"Run {n:02d}",
                        activity_date=base - dt.timedelta(hours=n))
    ActivityFactory(user=user, activity_type="yoga", title="Calm", tags=["stretch"])

    first = browser.get("/activities").content.decode()
    assert first.count('href="/activities/') - first.count('href="/activities/new"') - first.count(
        'href="/activities/trash"') == 20
    assert 'rel="next"' in first and "Page 1 of 2" in first
    second = browser.get("/activities?page=2").content.decode()
    assert 'rel="prev"' in second and "Run 24" in second

    only_yoga = browser.get("/activities", {"type": "Yoga"}).content.decode()
    assert "Calm" in only_yoga and "Run 00" not in only_yoga
    tagged = browser.get("/activities", {"tag": "stretch"}).content.decode()
    assert "Calm" in tagged and "Run 01" not in tagged
    oldest = browser.get("/activities", {"sort": "activity_date"}).content.decode()
    assert oldest.index("Run 24") < oldest.index("Run 23")


def test_a_filter_that_cannot_be_read_is_shown_on_its_field(browser):
    response = browser.get("/activities", {"start": "not-a-date"})
    body = response.content.decode()
    assert 'id="id_start_errors"' in body and "Enter a valid date." in body


def test_htmx_filtering_returns_only_the_results(browser, user):
    ActivityFactory(user=user, title="only me")
    response = browser.get("/activities", {"search": "only"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    body = response.content.decode()
    assert "Only me" in body and "<html" not in body


def test_the_list_runs_a_constant_number_of_queries(browser, user, django_assert_max_num_queries):
    ActivityFactory(user=user, tags=["a"])
    with django_assert_max_num_queries(8) as few:
        browser.get("/activities")
    for _ in range(60):
        ActivityFactory(user=user, tags=["a", "b"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        browser.get("/activities")


def test_photos_upload_and_delete_from_the_activity_page(browser, user):
    activity = ActivityFactory(user=user)
    response = browser.post(f"/activities/{activity.pk}/photos", {"photos": [jpeg(), jpeg()]})
    assert response["Location"] == f"/activities/{activity.pk}"
    assert activity.photos.count() == 2
    page = browser.get(response["Location"]).content.decode()
    assert page.count(">Delete photo<") == 2 and "2 photo(s) added." in page

    photo = activity.photos.first()
    browser.post(f"/activities/{activity.pk}/photos/{photo.pk}/delete")
    assert activity.photos.count() == 1


def test_a_file_that_is_not_an_image_is_refused_with_the_apis_message(browser, user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    activity = ActivityFactory(user=user)
    text = SimpleUploadedFile("notes.txt", b"just text", content_type="text/plain")
    response = browser.post(f"/activities/{activity.pk}/photos", {"photos": [text]}, follow=True)
    assert activity.photos.count() == 0
    assert re.search(r'role="alert">\s*File 1 of 1', response.content.decode())


def test_someone_elses_photo_cannot_be_deleted(browser, other_user):
    photo = PhotoFactory(activity=ActivityFactory(user=other_user))
    assert browser.post(f"/activities/{photo.activity_id}/photos/{photo.pk}/delete").status_code == 404
    assert Photo.objects.filter(pk=photo.pk).exists()


def test_another_user_sees_none_of_it(client, user):
    ActivityFactory(user=user, title="private run")
    client.force_login(UserFactory())
    assert "private run" not in client.get("/activities").content.decode()
