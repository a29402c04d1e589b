"""Throttles on the auth endpoints and the API, counted in the real (Redis) cache."""

import pytest
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from tests.support.api import LOGIN, ME, REFRESH, REGISTER, assert_problem, bearer_client
from tests.support.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "sturdy-Lantern-42"


def attempt_login(client, identifier="nobody@example.com", *, field="email", password="wrong-password-1", **extra):
    return client.post(LOGIN, {field: identifier, "password": password}, format="json", **extra)


def assert_throttled(response) -> int:
    body = assert_problem(response, 429, "throttled")
    retry_after = response["Retry-After"]
    assert retry_after.isdigit(), retry_after
    seconds = int(retry_after)
    assert 1 <= seconds <= 60
    assert retry_after in body["detail"]
    return seconds


@pytest.fixture
def num_proxies(settings):
    def set_to(value):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": value}
        assert api_settings.NUM_PROXIES == value  # DRF reloaded its cached settings

    return set_to


@pytest.fixture
def rates(settings):
    def override(**scopes):
        settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, **scopes}

    return override


# --- Login per IP -------------------------------------------------------------------------------


def test_sixth_login_from_one_ip_is_throttled(api_client):
    for n in range(5):
        response = attempt_login(api_client, f"nobody{n}@example.com")
        assert response.status_code == 401, n

    assert_throttled(attempt_login(api_client, "nobody5@example.com"))


def test_throttle_counts_successful_logins_too(api_client, user):
    for _ in range(5):
        assert attempt_login(api_client, user.email, password=DEFAULT_PASSWORD).status_code == 200

    assert_throttled(attempt_login(api_client, user.email, password=DEFAULT_PASSWORD))


def test_throttled_login_does_not_check_credentials(api_client, user):
    for n in range(5):
        attempt_login(api_client, f"nobody{n}@example.com")

    response = attempt_login(api_client, user.email, password=DEFAULT_PASSWORD)

    assert_throttled(response)
    assert "access" not in response.json()


def test_login_throttle_is_per_ip(api_client):
    for n in range(5):
        attempt_login(api_client, f"nobody{n}@example.com", REMOTE_ADDR="203.0.113.1")
    assert_throttled(attempt_login(api_client, "nobody5@example.com", REMOTE_ADDR="203.0.113.1"))

    assert attempt_login(api_client, "nobody6@example.com", REMOTE_ADDR="203.0.113.2").status_code == 401


def test_login_throttle_is_separate_from_register(api_client):
    for n in range(5):
        attempt_login(api_client, f"nobody{n}@example.com")

    response = api_client.post(
        REGISTER, {"username": "newbie", "email": "newbie@example.com", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 201


# --- Login per account --------------------------------------------------------------------------


def test_sixth_attempt_against_one_account_from_many_ips_is_throttled(api_client, user):
    for n in range(5):
        response = attempt_login(api_client, user.email, REMOTE_ADDR=f"198.51.100.{n + 1}")
        assert response.status_code == 401, n

    response = attempt_login(api_client, user.email, password=DEFAULT_PASSWORD, REMOTE_ADDR="198.51.100.99")

    assert_throttled(response)


def test_account_throttle_ignores_case_and_whitespace(api_client, user):
    variants = [user.email.upper(), f" {user.email} ", user.email.title(), user.email, user.email.upper()]
    for n, variant in enumerate(variants):
        assert attempt_login(api_client, variant, REMOTE_ADDR=f"198.51.100.{n + 1}").status_code == 401

    assert_throttled(attempt_login(api_client, user.email, REMOTE_ADDR="198.51.100.99"))


def test_account_throttle_by_username(api_client, user):
    for n, variant in enumerate([user.username, user.username.upper(), f" {user.username} ", user.username] * 2):
        response = attempt_login(api_client, variant, field="username", REMOTE_ADDR=f"198.51.100.{n + 1}")
        if n < 5:
            assert response.status_code == 401, n
        else:
            assert_throttled(response)


def test_account_throttle_does_not_affect_other_accounts(api_client, user, other_user):
    for n in range(5):
        attempt_login(api_client, user.email, REMOTE_ADDR=f"198.51.100.{n + 1}")

    response = attempt_login(api_client, other_user.email, password=DEFAULT_PASSWORD, REMOTE_ADDR="198.51.100.99")

    assert response.status_code == 200


def test_account_throttle_for_unknown_accounts_too(api_client):
    """Unknown and existing accounts behave alike, so the throttle reveals nothing."""
    for n in range(5):
        attempt_login(api_client, "ghost@example.com", REMOTE_ADDR=f"198.51.100.{n + 1}")

    assert_throttled(attempt_login(api_client, "GHOST@example.com", REMOTE_ADDR="198.51.100.99"))


def test_account_throttle_with_a_huge_identifier_is_a_validation_error_not_a_crash(api_client):
    response = attempt_login(api_client, "x" * 10_000 + "@example.com")

    assert_problem(response, 400, "validation-error")


@pytest.mark.parametrize("payload", [{"email": ["a@example.com"]}, {"email": None}, {"username": 12}, []])
def test_account_throttle_with_odd_payloads(api_client, payload):
    response = api_client.post(LOGIN, payload, format="json")

    assert response.status_code in {400, 401}
    assert response["Content-Type"] == "application/problem+json"


# --- Register -----------------------------------------------------------------------------------


def test_fourth_registration_from_one_ip_is_throttled(api_client):
    for n in range(3):
        response = api_client.post(
            REGISTER, {"username": f"newbie{n}", "email": f"newbie{n}@example.com", "password": PASSWORD}, format="json"
        )
        assert response.status_code == 201, n

    response = api_client.post(
        REGISTER, {"username": "newbie3", "email": "newbie3@example.com", "password": PASSWORD}, format="json"
    )

    assert_throttled(response)
    assert not UserFactory._meta.model.objects.filter(username="newbie3").exists()


def test_failed_registrations_count_too(api_client):
    for _ in range(3):
        assert api_client.post(REGISTER, {}, format="json").status_code == 400

    assert_throttled(api_client.post(REGISTER, {}, format="json"))


# --- X-Forwarded-For ----------------------------------------------------------------------------


def test_spoofed_left_most_forwarded_for_does_not_escape_the_throttle(api_client, num_proxies):
    num_proxies(1)
    for n in range(5):
        response = attempt_login(api_client, f"nobody{n}@example.com", HTTP_X_FORWARDED_FOR=f"10.9.8.{n}, 192.0.2.7")
        assert response.status_code == 401, n

    response = attempt_login(api_client, "nobody5@example.com", HTTP_X_FORWARDED_FOR="10.9.8.200, 192.0.2.7")

    assert_throttled(response)


def test_clients_behind_the_proxy_are_throttled_separately(api_client, num_proxies):
    num_proxies(1)
    # The load balancer's own address (REMOTE_ADDR) is the same for everyone.
    for n in range(5):
        attempt_login(api_client, f"nobody{n}@example.com", HTTP_X_FORWARDED_FOR="192.0.2.7")
    assert_throttled(attempt_login(api_client, "nobody5@example.com", HTTP_X_FORWARDED_FOR="192.0.2.7"))

    response = attempt_login(api_client, "nobody6@example.com", HTTP_X_FORWARDED_FOR="192.0.2.7, 192.0.2.8")

    assert response.status_code == 401


def test_without_proxies_forwarded_for_is_ignored(api_client, num_proxies):
    num_proxies(0)
    for n in range(5):
        attempt_login(api_client, f"nobody{n}@example.com", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    assert_throttled(attempt_login(api_client, "nobody5@example.com", HTTP_X_FORWARDED_FOR="192.0.2.99"))


# --- Rates from settings ------------------------------------------------------------------------


def test_login_rate_can_be_overridden(api_client, rates):
    rates(login="2/min")

    assert attempt_login(api_client, "a@example.com").status_code == 401
    assert attempt_login(api_client, "b@example.com").status_code == 401
    assert_throttled(attempt_login(api_client, "c@example.com"))


def test_partial_rate_override_keeps_other_scopes(api_client, settings):
    settings.THROTTLE_RATES = {"login": "2/min"}

    assert attempt_login(api_client, "a@example.com").status_code == 401
    response = api_client.post(
        REGISTER, {"username": "newbie", "email": "newbie@example.com", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201
    assert attempt_login(api_client, "b@example.com").status_code == 401
    assert_throttled(attempt_login(api_client, "c@example.com"))


def test_refresh_rate(api_client, user, rates):
    rates(refresh="1/min")
    pair = attempt_login(api_client, user.email, password=DEFAULT_PASSWORD).json()

    assert api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json").status_code == 200
    assert_throttled(api_client.post(REFRESH, {"refresh": "whatever"}, format="json"))


def test_user_rate_is_per_user(user, other_user, rates):
    rates(user="3/min")
    mine, theirs = bearer_client(user), bearer_client(other_user)
    for _ in range(3):
        assert mine.get(ME).status_code == 200

    assert_throttled(mine.get(ME))
    assert theirs.get(ME).status_code == 200


def test_hourly_rate_retry_after(api_client, rates):
    rates(login="1/hour")
    attempt_login(api_client)

    response = attempt_login(api_client)

    body = assert_problem(response, 429, "throttled")
    assert 3500 <= int(response["Retry-After"]) <= 3600
    assert response["Retry-After"] in body["detail"]


def test_throttles_fail_open_when_the_cache_is_down(api_client, settings, rates):
    rates(login="1/min")
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.2,
                "SOCKET_TIMEOUT": 0.2,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }

    for n in range(3):
        assert attempt_login(APIClient(), f"nobody{n}@example.com").status_code == 401


def test_redis_keeps_one_sorted_set_per_throttle_key(api_client):
    from django.core.cache import cache
    from django_redis import get_redis_connection

    for _ in range(3):
        attempt_login(api_client, "counted@example.com")
    redis_client = get_redis_connection("default")
    keys = [k.decode() for k in redis_client.keys(cache.make_key("throttle_login_*"))]
    assert keys and all(redis_client.type(k) == b"zset" for k in keys)
    assert sorted(redis_client.zcard(k) for k in keys) == [3, 3]  # per IP and per account


def test_the_local_memory_cache_still_throttles(api_client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "throttle-test"}}
    for _ in range(5):
        assert attempt_login(api_client).status_code == 401
    assert_throttled(attempt_login(api_client))


def test_refused_requests_do_not_count_and_a_flushed_script_is_loaded_again(api_client, rates):
    """The window's arithmetic runs as one Lua script in Redis (activelog/api/throttling.py)."""
    from django.core.cache import cache
    from django_redis import get_redis_connection

    rates(login="2/min")
    redis_client = get_redis_connection("default")
    assert attempt_login(api_client, "counted@example.com").status_code == 401
    redis_client.script_flush()  # as after a Redis restart: EVALSHA fails, the script is sent again
    assert attempt_login(api_client, "counted@example.com").status_code == 401
    for _ in range(3):
        assert_throttled(attempt_login(api_client, "counted@example.com"))
    keys = redis_client.keys(cache.make_key("throttle_login_*"))
    assert sorted(redis_client.zcard(k) for k in keys) == [2, 2]  # the three refusals left no trace
    assert all(0 < redis_client.ttl(k) <= 61 for k in keys)


# --- The per-user throttles ride on the user's cache read ----------------------------------------


def user_window(user, scope="user") -> list[bytes]:
    """The members counted in ``user``'s window of this throttle scope."""
    from django.core.cache import cache
    from django_redis import get_redis_connection

    return get_redis_connection("default").zrange(cache.make_key(f"throttle_{scope}_{user.pk}"), 0, -1)


def test_a_signed_in_request_makes_one_redis_round_trip_for_its_user_and_throttle(user, redis_commands, rates):
    rates(user="3/min")
    api = bearer_client(user)
    from prometheus_client import REGISTRY

    def cache_hits():
        return REGISTRY.get_sample_value("django_cache_get_hits_total", {"backend": "redis"}) or 0

    assert api.get(ME).status_code == 200  # reads the row, caches it
    redis_commands.clear()
    hits = cache_hits()

    assert api.get(ME).status_code == 200

    assert len(redis_commands) == 1, redis_commands  # the user and the throttle's turn together
    assert cache_hits() == hits + 1  # the dashboards' hit ratio still sees the user read
    assert len(user_window(user)) == 2
    assert api.get(ME).status_code == 200
    assert_throttled(api.get(ME))
    assert len(user_window(user)) == 3  # the refusal did not count


def test_both_per_user_throttles_of_a_view_take_their_turn(user, rates):
    """The PDF report has the user's rate and the export rate: both count, in the one round trip."""
    rates(user="5/min", export="1/min")
    api = bearer_client(user)
    report = "/api/v1/activities/export/pdf"
    assert api.get(ME).status_code == 200
    assert api.post(report, {}, format="json").status_code == 202

    assert_throttled(api.post(report, {}, format="json"))
    assert (len(user_window(user)), len(user_window(user, "export"))) == (3, 1)


@pytest.mark.parametrize("refusal", ["password changed", "deactivated"])
def test_a_request_refused_at_authentication_does_not_count(user, rates, refusal):
    rates(user="2/min")
    stale = bearer_client(user)
    assert stale.get(ME).status_code == 200  # cached, one turn counted
    if refusal == "password changed":
        user.set_password("changed-by-a-reset-link-66")
    else:
        user.is_active = False
    user.save()

    for _ in range(4):
        assert_problem(stale.get(ME), 401, "not-authenticated")

    assert len(user_window(user)) == 1
    user.is_active = True
    user.save()
    fresh = bearer_client(user)
    assert fresh.get(ME).status_code == 200
    assert_throttled(fresh.get(ME))


def test_with_redis_down_a_signed_in_request_is_answered_from_the_database(user, settings, rates):
    from django.core.cache import cache

    rates(user="1/min")
    api = bearer_client(user)
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}
    try:
        for _ in range(3):  # over the rate: the throttle is open while Redis is away
            response = api.get(ME)
            assert response.status_code == 200 and response.json()["email"] == user.email
    finally:
        cache.close()
