"""The baseline page (底数): counts for the user's jurisdiction, one row per child place.

Thin: ``people.baseline.baseline_for`` reads and scopes; a path outside the jurisdiction is
a 404 there.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from safecommunity.accounts.views import current_user
from safecommunity.people.baseline import baseline_for


@login_required
@require_GET
def baseline(request: HttpRequest) -> HttpResponse:
    table = baseline_for(user=current_user(request), path=request.GET.get("path"))
    return render(request, "people/baseline.html", {"table": table})
