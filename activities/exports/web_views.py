"""Browser page of the exports area: CSV download, PDF reports with progress."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def exports_page(request):
    return render(request, "exports/exports.html", {})
