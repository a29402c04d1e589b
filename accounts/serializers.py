from django.contrib.auth import authenticate
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed

from accounts.models import USERNAME_RULE, User, validate_timezone
from activelog.api.schema import requires_one_of


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email", "timezone", "units", "date_joined"]
        read_only_fields = fields


class RegisterSerializer(serializers.Serializer):
    username = serializers.CharField(min_length=3, max_length=30, validators=[USERNAME_RULE])
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)


@requires_one_of("email", "username")
class LoginSerializer(serializers.Serializer):
    """An email or a username (at least one; the email when both are given) and the password."""

    email = serializers.CharField(required=False, max_length=254, help_text="The account's email (any case).")
    username = serializers.CharField(required=False, max_length=30, help_text="Or the username (any case).")
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)

    def validate(self, attrs):
        if not attrs.get("email") and not attrs.get("username"):
            raise serializers.ValidationError({"email": ["Give an email (or a username) to sign in."]})
        user = authenticate(
            self.context.get("request"),
            email=attrs.get("email"),
            username=attrs.get("username"),
            password=attrs["password"],
        )
        if user is None:
            # The same answer for an unknown account and a wrong password: no enumeration.
            raise AuthenticationFailed("Invalid credentials.")
        attrs["user"] = user
        return attrs


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class AuthResponseSerializer(TokenPairSerializer):
    user = UserSerializer()


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class UserUpdateSerializer(serializers.Serializer):
    email = serializers.EmailField(required=False, max_length=254)
    timezone = serializers.CharField(required=False, max_length=64, validators=[validate_timezone])
    units = serializers.ChoiceField(required=False, choices=User.Units.choices)


class PasswordChangeSerializer(serializers.Serializer):
    current_password = serializers.CharField(max_length=128, trim_whitespace=False)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False)


class AccountDeleteSerializer(serializers.Serializer):
    password = serializers.CharField(max_length=128, trim_whitespace=False)
