"""JWT authentication for the API: simplejwt's, plus the password claim of accounts/tokens.py."""

from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from accounts.tokens import issued_under_current_password


class JWTAuthentication(SimpleJWTAuthentication):
    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if not issued_under_current_password(validated_token, user):
            raise InvalidToken("The token was issued before the password changed; sign in again.")
        return user
