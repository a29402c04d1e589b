"""JWT authentication for the API: simplejwt's, plus the password claim of accounts/tokens.py and
the user read through the authentication cache (accounts/user_cache.py)."""

from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings

from accounts.tokens import issued_under_current_password
from accounts.user_cache import cached_user


class JWTAuthentication(SimpleJWTAuthentication):
    def get_user(self, validated_token):
        # simplejwt's checks, in its order and with its messages; the row comes from the cache.
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as e:
            raise InvalidToken(_("Token contained no recognizable user identification")) from e
        try:
            user = cached_user(user_id)
        except self.user_model.DoesNotExist as e:
            raise AuthenticationFailed(_("User not found"), code="user_not_found") from e
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if not issued_under_current_password(validated_token, user):
            raise InvalidToken("The token was issued before the password changed; sign in again.")
        return user
