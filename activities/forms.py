"""Browser forms of activities. Values are checked with activities.rules (the API's rules) and
saved by the services, which check them again; distances are entered in the person's units."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from activelog import units
from activelog.web.forms import AccessibleForm
from activities import rules
from activities.models import Activity

DATETIME_INPUT = "%Y-%m-%dT%H:%M"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several files under one name; the photos service judges them (all or nothing)."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else ([data] if data else [])
        return [super(MultipleImageField, self).clean(item, initial) for item in files]


def photos_field(required: bool = False) -> MultipleImageField:
    return MultipleImageField(
        label=_("Photos"), required=required,
        help_text=_("Up to 5 JPEG, PNG or WebP images, 10 MB each; location data is removed."),
        widget=MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )


class ActivityForm(AccessibleForm):
    activity_type = forms.CharField(
        label=_("Activity type"), max_length=rules.ACTIVITY_TYPE_MAX_LENGTH,
        help_text=_("For example running, cycling, yoga."),
        widget=forms.TextInput(attrs={"list": "activity-types", "autocomplete": "off"}),
    )
    title = forms.CharField(label=_("Title"), max_length=rules.TITLE_MAX_LENGTH, required=False,
                            validators=[rules.validate_single_line_text])
    activity_date = forms.DateTimeField(
        label=_("Date and time"), input_formats=[DATETIME_INPUT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_INPUT),
    )
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"), min_value=rules.DURATION_MINUTES_MIN, max_value=rules.DURATION_MINUTES_MAX,
    )
    distance = forms.DecimalField(label=_("Distance (km)"), required=False, min_value=0, decimal_places=2,
                                  max_digits=7, widget=forms.NumberInput(attrs={"step": "0.01"}))
    calories_burned = forms.IntegerField(label=_("Calories"), required=False, min_value=0,
                                         max_value=rules.CALORIES_MAX)
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Comma-separated, e.g. hills, morning."))
    notes = forms.CharField(label=_("Notes"), required=False, max_length=rules.NOTES_MAX_LENGTH,
                            validators=[rules.validate_multi_line_text], widget=forms.Textarea(attrs={"rows": 3}))
    description = forms.CharField(label=_("Description"), required=False, max_length=rules.DESCRIPTION_MAX_LENGTH,
                                  validators=[rules.validate_multi_line_text],
                                  widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, user, with_photos: bool = False, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        unit = units.distance_unit(user.units)
        self.fields["distance"].label = _("Distance (mi)") if unit == "mi" else _("Distance (km)")
        self.fields["distance"].widget.attrs["max"] = units.km_to_display(Decimal(rules.DISTANCE_KM_MAX), user.units)
        if with_photos:
            self.fields["photos"] = photos_field()
        self._bound_fields_cache.clear()  # bound fields copied the labels changed above
        self._wire_aria()

    def clean_activity_type(self) -> str:
        return rules.clean_activity_type(self.cleaned_data["activity_type"])

    def clean_activity_date(self):
        value = self.cleaned_data["activity_date"]
        rules.validate_activity_date(value)
        return value

    def clean_tags(self) -> list[str]:
        try:
            return rules.clean_tag_names(self.cleaned_data["tags"].split(","))
        except ValidationError as exc:  # keyed by "tags" for the services; here it is this field's
            raise ValidationError(exc.messages) from None

    def clean_distance(self):
        value = self.cleaned_data["distance"]
        km = units.display_to_km(value, self.user.units)
        if km is not None and km > rules.DISTANCE_KM_MAX:
            limit = units.km_to_display(Decimal(rules.DISTANCE_KM_MAX), self.user.units)
            raise forms.ValidationError(_("At most %(limit)s.") % {"limit": limit})
        return km

    def service_data(self) -> dict:
        """The cleaned values as the services take them (distance in km)."""
        data = {name: self.cleaned_data[name] for name in Activity.EDITABLE_FIELDS if name in self.cleaned_data}
        data["distance_km"] = self.cleaned_data["distance"]
        data["tags"] = self.cleaned_data["tags"]
        return data

    @classmethod
    def initial_for(cls, activity: Activity, user) -> dict:
        return {
            **{name: getattr(activity, name) for name in Activity.EDITABLE_FIELDS},
            "distance": units.km_to_display(activity.distance_km, user.units),
            "tags": ", ".join(sorted(tag.name for tag in activity.tags.all())),
        }


SORTS = [
    ("-activity_date", _("Newest first")),
    ("activity_date", _("Oldest first")),
    ("-distance_km", _("Longest distance")),
    ("-duration_minutes", _("Longest duration")),
    ("-calories_burned", _("Most calories")),
]


class ActivityFilterForm(AccessibleForm):
    """The list's filters; their values go to the same selector (and filters) as the API's."""

    type = forms.CharField(label=_("Type"), required=False, max_length=rules.ACTIVITY_TYPE_MAX_LENGTH,
                           validators=[rules.validate_single_line_text])
    start = forms.DateField(label=_("From"), required=False, validators=[rules.validate_query_date],
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, validators=[rules.validate_query_date],
                          widget=forms.DateInput(attrs={"type": "date"}))
    tag = forms.CharField(label=_("Tag"), required=False, max_length=rules.TAG_NAME_MAX_LENGTH,
                          validators=[rules.validate_single_line_text])
    search = forms.CharField(label=_("Search"), required=False, max_length=200,
                             validators=[rules.validate_single_line_text],
                             widget=forms.TextInput(attrs={"type": "search"}))
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=SORTS)

    # This form's field -> the selector's (the API's) parameter, and back for the selector's errors.
    SELECTOR_NAMES = {"type": "type", "start": "start_date", "end": "end_date", "tag": "tag", "search": "search",
                      "sort": "ordering"}
    FIELD_NAMES = {**{target: name for name, target in SELECTOR_NAMES.items()}, "activity_type": "type"}

    def selector_filters(self) -> dict:
        data = self.cleaned_data
        return {target: str(data[name]) for name, target in self.SELECTOR_NAMES.items() if data.get(name)}


class PhotoUploadForm(AccessibleForm):
    """Photos added to an existing activity (the activity page)."""

    photos = photos_field(required=True)
