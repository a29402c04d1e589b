from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import serializers, services
from activelog import metrics
from activelog.api.throttling import LoginAccountThrottle, LoginIPThrottle, RefreshIPThrottle, RegisterIPThrottle


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [RegisterIPThrottle]

    @extend_schema(
        request=serializers.RegisterSerializer,
        responses={201: serializers.AuthResponseSerializer},
        tags=["auth"],
        summary="Create an account and sign in",
    )
    def post(self, request):
        data = serializers.RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(**data.validated_data)
        body = {"user": serializers.UserSerializer(user).data, **services.user_login(user=user)}
        return Response(body, status=status.HTTP_201_CREATED)


class LoginView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [LoginIPThrottle, LoginAccountThrottle]

    @extend_schema(
        request=serializers.LoginSerializer,
        responses={
            200: serializers.AuthResponseSerializer,
            401: OpenApiResponse(description="Invalid credentials: the same answer for an unknown account and a "
                                 "wrong password."),
        },
        tags=["auth"],
        summary="Sign in with email (or username) and password",
        description="Give `email` or `username` (at least one; the email when both are given) with the password. "
        "Attempts are limited per client address and per account (THROTTLE_RATE_LOGIN, 5 a minute by default).",
    )
    def post(self, request):
        data = serializers.LoginSerializer(data=request.data, context={"request": request})
        try:
            data.is_valid(raise_exception=True)
        except AuthenticationFailed:
            metrics.LOGINS.labels(result="failure").inc()
            raise
        metrics.LOGINS.labels(result="success").inc()
        user = data.validated_data["user"]
        return Response({**services.user_login(user=user), "user": serializers.UserSerializer(user).data})


class RefreshView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [RefreshIPThrottle]

    @extend_schema(
        request=serializers.RefreshInputSerializer,
        responses={
            200: serializers.TokenPairSerializer,
            401: OpenApiResponse(description="The refresh token is invalid, expired, or already used or revoked."),
        },
        tags=["auth"],
        summary="Exchange a refresh token for a new pair (the old refresh token stops working)",
    )
    def post(self, request):
        data = serializers.RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.token_refresh(refresh=data.validated_data["refresh"]))


class LogoutView(APIView):
    @extend_schema(
        request=serializers.RefreshInputSerializer,
        responses={204: OpenApiResponse(description="Signed out")},
        tags=["auth"],
        summary="Revoke a refresh token",
    )
    def post(self, request):
        data = serializers.RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.token_revoke(user=request.user, refresh=data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses={200: serializers.UserSerializer}, tags=["users"], summary="Your account")
    def get(self, request):
        return Response(serializers.UserSerializer(request.user).data)

    @extend_schema(
        request=serializers.UserUpdateSerializer,
        responses={200: serializers.UserSerializer},
        tags=["users"],
        summary="Change your email, time zone or units",
    )
    def patch(self, request):
        data = serializers.UserUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_update(user=request.user, data=data.validated_data)
        return Response(serializers.UserSerializer(user).data)

    @extend_schema(
        request=serializers.AccountDeleteSerializer,
        responses={204: OpenApiResponse(description="Account and all its data deleted")},
        tags=["users"],
        summary="Delete the account and all its data",
        description="The body must carry the account's password (a wrong one is a 400 naming `password`). "
        "Activities, photos (their stored files included) and export jobs go with the account, and every "
        "token of it stops working.",
    )
    def delete(self, request):
        data = serializers.AccountDeleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_delete(user=request.user, password=data.validated_data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(APIView):
    @extend_schema(
        request=serializers.PasswordChangeSerializer,
        responses={204: OpenApiResponse(description="Password changed; sign in again")},
        tags=["users"],
        summary="Change the password (every existing token is revoked)",
    )
    def post(self, request):
        data = serializers.PasswordChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_change_password(user=request.user, **data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)
