"""Browser page of the exports area: CSV download, PDF reports with progress.

Interface code, like the API views (activities/exports/views.py): forms in, the same selectors
and services out. The CSV streams exactly as the API's does; a report is created by
``services.export_job_create`` and its progress polled (htmx) from a fragment of this page.
"""

import uuid

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from activelog.api.throttling import ExportRateThrottle
from activelog.errors import NotFound
from activelog.storage import EXPORT_LINK_SECONDS, signed_url
from activelog.timezones import local_today
from activelog.web.throttling import throttle_wait
from activities import rules
from activities.exports import forms, selectors, services
from activities.exports.rendering import csv_download
from activities.models import ExportJob

EARLIER_REPORTS = 20
REPORT_PREFIX = "report"
RUNNING = (ExportJob.Status.PENDING, ExportJob.Status.PROCESSING)


def _download_url(request, job: ExportJob) -> str:
    if job.status != ExportJob.Status.COMPLETED or not job.file:
        return ""
    return signed_url(job.file.name, seconds=EXPORT_LINK_SECONDS, request=request)


def _state(job: ExportJob) -> str:
    return f"{job.status}-{job.progress}"


def _job_context(request, job: ExportJob) -> dict:
    return {
        "job": job,
        "state": _state(job),
        "running": job.status in RUNNING,
        "download_url": _download_url(request, job),
        "link_minutes": EXPORT_LINK_SECONDS // 60,
    }


def _report_form(user, data=None) -> forms.ReportForm:
    start, end = rules.clean_period(start=None, end=None, today=local_today(user.tzinfo))
    return forms.ReportForm(data, prefix=REPORT_PREFIX, initial={"start": start, "end": end})


def _requested_job(request) -> ExportJob | None:
    """The job named by ?job=<uuid> (the person's own only; anything else is a 404 page)."""
    raw = request.GET.get("job")
    if not raw:
        return None
    try:
        job_id = uuid.UUID(raw)
    except ValueError:
        raise NotFound(_("No report with this id.")) from None
    return selectors.export_job_get(user=request.user, job_id=job_id)


def _page(request, *, csv_form, report_form, status: int = 200):
    jobs = list(selectors.export_job_list(user=request.user)[:EARLIER_REPORTS])
    job = _requested_job(request)
    context = {
        "csv_form": csv_form,
        "report_form": report_form,
        "reports": [(each, _download_url(request, each)) for each in jobs],
        **(_job_context(request, job) if job is not None else {}),
    }
    return render(request, "exports/exports.html", context, status=status)


@login_required
@require_safe
def exports_page(request):
    csv_form = forms.CsvExportForm.from_query(request.GET)
    if csv_form.is_bound:
        csv_form.is_valid()  # pre-filled from a link: say at once what cannot be used
    return _page(request, csv_form=csv_form, report_form=_report_form(request.user))


@login_required
@require_safe
def exports_csv(request):
    """The activities with the list's filters as CSV, streamed like the API's CsvExportView."""
    form = forms.CsvExportForm(request.GET)
    if form.is_valid():
        try:
            activities = selectors.activities_for_csv(user=request.user, filters=form.selector_filters())
        except ValidationError as exc:
            form.add_domain_errors(exc, field_names=form.FIELD_NAMES)
        else:
            return csv_download(user=request.user, activities=activities)
    return _page(request, csv_form=form, report_form=_report_form(request.user), status=400)


@login_required
@require_POST
def exports_pdf(request):
    """Create a report of the period (rendered by the worker, or inline without a broker) and
    show it on the page. The period is judged by the service, as for the API."""
    form = _report_form(request.user, request.POST)
    if form.is_valid():
        wait = throttle_wait(request, [ExportRateThrottle()])
        if wait:
            form.add_error(None, _("Too many reports at once. Try again in %(seconds)s seconds.") % {"seconds": wait})
        else:
            try:
                start, end = rules.clean_period(start=form.cleaned_data["start"], end=form.cleaned_data["end"],
                                                today=local_today(request.user.tzinfo))
                job = services.export_job_create(user=request.user, start=start, end=end)
            except ValidationError as exc:
                form.add_domain_errors(exc, field_names=forms.REPORT_FIELD_NAMES)
            else:
                return redirect(f"{reverse('exports-page')}?job={job.pk}")
    return _page(request, csv_form=forms.CsvExportForm(), report_form=form, status=400)


@login_required
@require_safe
def export_job(request, job_id: uuid.UUID):
    """The job's progress fragment, polled by htmx while the report renders. A poll that has
    already seen this state gets 204 (htmx swaps nothing), so the live region around the fragment
    speaks only when something changed."""
    job = selectors.export_job_get(user=request.user, job_id=job_id)
    if request.GET.get("seen") == _state(job):
        return HttpResponse(status=204)
    return render(request, "exports/_job.html", _job_context(request, job))
