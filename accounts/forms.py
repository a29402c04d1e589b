"""Browser forms of the accounts app. The rules are the services' (accounts/services.py) and the
model's; the forms only collect the values and show the errors next to their fields."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import USERNAME_RULE, User, timezone_names
from activelog.web.forms import AccessibleForm


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(timezone_names())]


class SignupForm(AccessibleForm):
    username = forms.CharField(
        label=_("Username"), min_length=3, max_length=30, validators=[USERNAME_RULE],
        help_text=_("3 to 30 characters: letters, digits, underscore, dot or hyphen."),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    email = forms.EmailField(label=_("Email"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        label=_("Password"), max_length=128, strip=False,
        help_text=_("At least 8 characters; not only digits, not a common password."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class LoginForm(AccessibleForm):
    identifier = forms.CharField(
        label=_("Email or username"), max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}),
    )
    password = forms.CharField(label=_("Password"), max_length=128, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def credentials(self) -> dict:
        """What the authentication backend (and the API's per-account throttle) expects."""
        identifier = self.cleaned_data["identifier"].strip()
        key = "email" if "@" in identifier else "username"
        return {key: identifier, "password": self.cleaned_data["password"]}


class ProfileForm(AccessibleForm):
    email = forms.EmailField(label=_("Email"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    timezone = forms.ChoiceField(label=_("Time zone"), choices=timezone_choices,
                                 help_text=_("Dates and times are shown and entered in this time zone."))
    units = forms.ChoiceField(label=_("Units"), choices=[
        (User.Units.METRIC, _("Metric (km)")),
        (User.Units.IMPERIAL, _("Imperial (mi)")),
    ])


class PasswordChangeForm(AccessibleForm):
    current_password = forms.CharField(label=_("Current password"), max_length=128, strip=False,
                                       widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    new_password = forms.CharField(label=_("New password"), max_length=128, strip=False,
                                   help_text=_("At least 8 characters; not only digits, not a common password."),
                                   widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))


class AccountDeleteForm(AccessibleForm):
    password = forms.CharField(
        label=_("Password"), max_length=128, strip=False,
        help_text=_("Deleting removes every activity, photo and report for good."),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
