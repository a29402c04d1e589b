"""Browser pages of activities: list, log, view, edit, delete with Undo, trash and restore.

Interface code, like the API views: forms in, the same services and selectors as the API, pages
out. The activity page composes the photos area (its gallery and upload form), which makes this
module wiring like the URLs and the admin.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from activelog.errors import DomainError
from activities import forms, selectors, services
from activities.photos import services as photo_services

PAGE_SIZE = 20


@login_required
def activity_list(request):
    filters = forms.ActivityFilterForm(request.GET or None)
    activities, page = [], None
    if not request.GET or filters.is_valid():
        wanted = filters.selector_filters() if request.GET else {}
        try:
            queryset = selectors.activity_list(user=request.user, filters=wanted)
            page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
            activities = page.object_list
        except ValidationError as exc:
            filters.add_domain_errors(exc, field_names=filters.FIELD_NAMES)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("deleted", None)
    context = {
        "filters": filters,
        "activities": activities,
        "page": page,
        "query": query.urlencode(),
        "filtered": any(value for key, value in request.GET.items() if key not in {"page", "deleted"}),
        "undo": _deleted_activity(request),
    }
    partial = request.htmx and request.htmx.target == "results"  # htmx filtering swaps the results only
    return render(request, "activities/_results.html" if partial else "activities/list.html", context)


def _deleted_activity(request):
    """The activity just deleted, offered for Undo (only its owner's, only while restorable)."""
    raw = request.GET.get("deleted", "")
    if not raw.isdigit():
        return None
    return selectors.activities_restorable(user=request.user).filter(pk=int(raw)).only("id", "title").first()


@login_required
def activity_new(request):
    just_now = timezone.localtime().replace(second=0, microsecond=0)  # most people log what they just did
    form = forms.ActivityForm(request.POST or None, request.FILES or None, user=request.user, with_photos=True,
                              initial={"activity_date": just_now})
    if request.method == "POST" and form.is_valid():
        try:
            activity = services.activity_create(user=request.user, data=form.service_data())
        except ValidationError as exc:
            form.add_domain_errors(exc)
        else:
            messages.success(request, _("Activity saved."))
            photos = form.cleaned_data.get("photos") or []
            if photos:
                try:
                    photo_services.photo_attach(activity=activity, files=photos)
                except (ValidationError, DomainError) as exc:
                    problem = "; ".join(exc.messages) if isinstance(exc, ValidationError) else exc.message
                    messages.error(request, _("The photos were not added: %(problem)s") % {"problem": problem})
            return redirect("activity-page-detail", activity_id=activity.pk)
    return _form_page(request, {"form": form, "creating": True})


def _form_page(request, context: dict):
    context["activity_types"] = selectors.activity_types_used(user=request.user)
    return render(request, "activities/form.html", context, status=400 if context["form"].errors else 200)


@login_required
def activity_detail(request, activity_id: int):
    activity = selectors.activity_get(user=request.user, activity_id=activity_id)
    photos = activity.photos.order_by("-uploaded_at", "-id")
    context = {"activity": activity, "photos": photos, "upload_form": forms.PhotoUploadForm()}
    return render(request, "activities/detail.html", context)


@login_required
def activity_edit(request, activity_id: int):
    activity = selectors.activity_get(user=request.user, activity_id=activity_id)
    form = forms.ActivityForm(request.POST or None, user=request.user,
                              initial=forms.ActivityForm.initial_for(activity, request.user))
    if request.method == "POST" and form.is_valid():
        try:
            services.activity_update(activity=activity, data=form.service_data())
        except ValidationError as exc:
            form.add_domain_errors(exc)
        else:
            messages.success(request, _("Activity updated."))
            return redirect("activity-page-detail", activity_id=activity.pk)
    return _form_page(request, {"form": form, "activity": activity})


@login_required
@require_POST
def activity_delete(request, activity_id: int):
    activity = selectors.activity_get(user=request.user, activity_id=activity_id)
    services.activity_soft_delete(activity=activity)
    if request.htmx:  # in place: the activity gives way to the message with Undo
        return render(request, "activities/_deleted.html", {"activity": activity})
    return redirect(f"{reverse('activity-page-list')}?deleted={activity.pk}")


@login_required
@require_POST
def activity_restore(request, activity_id: int):
    activity = services.activity_restore(user=request.user, activity_id=activity_id)
    messages.success(request, _("“%(title)s” is back.") % {"title": activity.title or activity.activity_type})
    if request.POST.get("from") == "trash":
        return redirect("activity-page-trash")
    return redirect("activity-page-detail", activity_id=activity.pk)


@login_required
def activity_trash(request):
    activities = selectors.activity_list_deleted(user=request.user)[:200]
    return render(request, "activities/trash.html", {"activities": activities})
