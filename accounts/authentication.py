"""JWT authentication for the API: simplejwt's, plus the password claim of accounts/tokens.py, the
user read through the authentication cache (accounts/user_cache.py), and validated tokens kept per
process."""

import threading
import time
from collections import OrderedDict

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings

from accounts.tokens import issued_under_current_password
from accounts.user_cache import cached_user
from activelog.api.throttling import reads_and_user_turns

# Access tokens this process has validated, most recently used last: a client sends the same token
# for up to its lifetime (15 minutes by default), and checking it again (base64, JSON, HMAC, the
# claims) was a fifth of the CPU of a request answered from the cache. An entry is used only while
# the token's expiry is ahead and under the signing key that validated it; the password claim and
# the account are checked on every request (get_user).
VALIDATED_TOKENS_KEPT = 4096
_validated: OrderedDict = OrderedDict()
_validated_lock = threading.Lock()


class JWTAuthentication(SimpleJWTAuthentication):
    def get_validated_token(self, raw_token):
        key = api_settings.SIGNING_KEY
        with _validated_lock:
            kept = _validated.get(raw_token)
            if kept is not None:
                _validated.move_to_end(raw_token)
        if kept is not None and kept[0] == key and kept[1].payload.get("exp", 0) > time.time():
            return kept[1]
        token = super().get_validated_token(raw_token)  # raises for a bad or expired token
        with _validated_lock:
            _validated[raw_token] = (key, token)
            while len(_validated) > VALIDATED_TOKENS_KEPT:
                _validated.popitem(last=False)
        return token

    def authenticate(self, request):
        # simplejwt's, with the request passed on to get_user.
        header = self.get_header(request)
        if header is None:
            return None
        raw_token = self.get_raw_token(header)
        if raw_token is None:
            return None
        validated_token = self.get_validated_token(raw_token)
        return self.get_user(validated_token, request), validated_token

    def get_user(self, validated_token, request=None):
        # simplejwt's checks, in its order and with its messages; the row comes from the cache, read
        # in the same Redis round trip as the request's turn in the per-user throttles.
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as e:
            raise InvalidToken(_("Token contained no recognizable user identification")) from e

        def read(key):
            values = reads_and_user_turns(request, user_id, [key])
            return cache.get(key) if values is None else values[0]

        try:
            user = cached_user(user_id, read=cache.get if request is None else read)
        except self.user_model.DoesNotExist as e:
            raise AuthenticationFailed(_("User not found"), code="user_not_found") from e
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if not issued_under_current_password(validated_token, user):
            raise InvalidToken("The token was issued before the password changed; sign in again.")
        return user
