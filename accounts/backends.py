from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from accounts.models import normalize_email
from accounts.user_cache import cached_user


class UsernameOrEmailBackend(ModelBackend):
    """Sign in with a username or an email address, both compared ignoring case."""

    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        User = get_user_model()
        if password is None:
            return None
        if email:
            lookup = {"email__iexact": normalize_email(email)}
        elif username:
            lookup = {"username__iexact": username.strip()}
        else:
            return None
        try:
            user = User._default_manager.get(**lookup)
        except User.DoesNotExist:
            # Spend the same time as a real check so timing does not reveal which accounts exist.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id):
        """The signed-in user of a browser session, read through the authentication cache."""
        User = get_user_model()
        try:
            user = cached_user(user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
