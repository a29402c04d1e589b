"""Browser pages of the statistics area: the dashboard and the statistics page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def dashboard(request):
    return render(request, "statistics/dashboard.html", {})


@login_required
def stats_page(request):
    return render(request, "statistics/stats.html", {})
