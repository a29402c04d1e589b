"""What every browser form shares: accessible error wiring and domain errors shown on fields."""

from django import forms
from django.core.exceptions import ValidationError


class AccessibleForm(forms.Form):
    """Each field's help text and error list are tied to its input (aria-describedby), and an
    invalid input says so (aria-invalid); the ids are the ones templates/includes/field.html
    renders."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._wire_aria()

    def full_clean(self):
        super().full_clean()
        self._wire_aria()

    def add_domain_errors(self, error: ValidationError, *, field_names: dict[str, str] | None = None) -> None:
        """A service's ValidationError shown where it belongs: on the field it names (renamed by
        ``field_names`` when the form calls it differently), else at the top of the form."""
        field_names = field_names or {}
        if hasattr(error, "error_dict"):
            for name, messages in error.message_dict.items():
                target = field_names.get(name, name)
                self.add_error(target if target in self.fields else None, messages)
        else:
            self.add_error(None, error.messages)
        self._wire_aria()

    def _wire_aria(self) -> None:
        errors = self._errors or {}
        for name, field in self.fields.items():
            bound = self[name]
            described = [f"{bound.auto_id}_help"] if field.help_text else []
            if name in errors:
                described.append(f"{bound.auto_id}_errors")
                field.widget.attrs["aria-invalid"] = "true"
            else:
                field.widget.attrs.pop("aria-invalid", None)
            if described:
                field.widget.attrs["aria-describedby"] = " ".join(described)
            else:
                field.widget.attrs.pop("aria-describedby", None)
