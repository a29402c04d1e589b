"""The user behind an API token or a browser session, cached by id in the shared cache.

Every authenticated request loads its user; from the cache that is one Redis GET instead of a
SELECT (a cached statistics answer then needs no statement at all, issue 17). The entry is a
copy of the row, so it must never outlive a change that matters (password, is_active, time zone,
the statistics version of the statistics cache key):

- ``User.save()`` and ``delete()`` (password changes, deactivation in the admin, profile edits)
  drop it through the signals below;
- bulk ``update()`` of users (the statistics version bump, admin actions) drops it too
  (``accounts.models.UserQuerySet``);
- each drop happens at once and again when the transaction commits, so a request that read the
  row before the commit cannot keep it either, except in the narrow race where its read came
  before the commit and its store after it; settings.AUTH_USER_CACHE_SECONDS bounds that.

Off (every request reads the row) when AUTH_USER_CACHE_SECONDS is 0, the default without Redis.
"""

from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

KEY = "authuser:{}"


def _ttl() -> int:
    return settings.AUTH_USER_CACHE_SECONDS


def enabled() -> bool:
    return bool(_ttl())


def cached_user(user_id, *, read: Callable[[str], object] = cache.get):
    """The user with this primary key (``User.DoesNotExist`` when there is none). ``read`` reads
    the cache entry (None for a miss); the API's authentication reads it together with the
    throttles (accounts/authentication.py)."""
    User = get_user_model()
    if not _ttl():
        return User._default_manager.get(pk=user_id)
    key = KEY.format(user_id)
    user = read(key)  # a cache outage is a miss (IGNORE_EXCEPTIONS)
    if user is None:
        user = User._default_manager.get(pk=user_id)
        cache.add(key, user, _ttl())
    return user


def forget_users(user_ids: Iterable) -> None:
    """Drop these users' entries now and when the current transaction commits."""
    if not _ttl():
        return
    keys = [KEY.format(pk) for pk in user_ids]
    if not keys:
        return
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys), robust=True)


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.user_cache.saved")
@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.user_cache.deleted")
def _user_changed(sender, instance, **kwargs) -> None:
    forget_users([instance.pk])
