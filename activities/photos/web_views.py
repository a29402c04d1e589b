"""Browser actions of the photos area: upload to and delete from an activity's page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from activelog.errors import ContentTooLarge, UnsupportedContent
from activities import selectors
from activities.forms import PhotoUploadForm
from activities.photos import selectors as photo_selectors
from activities.photos import services


@login_required
@require_POST
def photo_upload(request, activity_id: int):
    activity = selectors.activity_get(user=request.user, activity_id=activity_id)
    form = PhotoUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["photos"]))
    else:
        try:
            photos = services.photo_attach(activity=activity, files=form.cleaned_data["photos"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except (ContentTooLarge, UnsupportedContent) as exc:
            messages.error(request, exc.message)
        else:
            count = len(photos)
            messages.success(request, _("%(count)d photo(s) added.") % {"count": count})
    return redirect("activity-page-detail", activity_id=activity.pk)


@login_required
@require_POST
def photo_delete(request, activity_id: int, photo_id: int):
    activity = selectors.activity_get(user=request.user, activity_id=activity_id)
    services.photo_delete(photo=photo_selectors.photo_get(activity=activity, photo_id=photo_id))
    messages.success(request, _("Photo deleted."))
    return redirect("activity-page-detail", activity_id=activity.pk)
