"""Browser forms of the exports page. The values go to the same selectors and services as the
API's (the CSV filters to activity_filter, the report period to export_job_create), which judge
them; the forms only read them."""

from django import forms
from django.utils.translation import gettext_lazy as _

from activelog.web.forms import AccessibleForm
from activities import rules
from activities.forms import ActivityFilterForm

DATE_FORMAT = "%Y-%m-%d"

# Names the selectors and services use for what these forms call otherwise.
REPORT_FIELD_NAMES = {"start_date": "start", "end_date": "end"}


class CsvExportForm(ActivityFilterForm):
    """The activity list's filters (same names, so a link from the list carries them), without
    its sort: a CSV is always in date order."""

    sort = None

    FILTER_NAMES = ("type", "start", "end", "tag", "search")

    @classmethod
    def from_query(cls, query) -> "CsvExportForm":
        """Bound to the query string when it names a filter (pre-filled), else unbound."""
        return cls(query if any(query.get(name) for name in cls.FILTER_NAMES) else None)


class ReportForm(AccessibleForm):
    """The period of a PDF report, in local days; empty means the last 30 days."""

    start = forms.DateField(label=_("From"), required=False, validators=[rules.validate_query_date],
                            widget=forms.DateInput(attrs={"type": "date"}, format=DATE_FORMAT))
    end = forms.DateField(label=_("To"), required=False, validators=[rules.validate_query_date],
                          widget=forms.DateInput(attrs={"type": "date"}, format=DATE_FORMAT))
