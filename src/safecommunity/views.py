"""The home page: what lies in the user's jurisdiction, counted, and how its teams stand."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from safecommunity.accounts.views import current_user
from safecommunity.places import selectors as places
from safecommunity.places.models import DivisionKind
from safecommunity.teams import selectors as teams
from safecommunity.teams.models import StaffKind


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    by_kind = dict(
        places.division_list(user=user)
        .order_by()
        .values("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    divisions = [
        (label, by_kind.get(kind, 0))
        for kind, label in DivisionKind.choices
        if kind != DivisionKind.CITY
    ]
    staff_by_kind = dict(
        teams.staff_list(user=user)
        .order_by()
        .values("kind")
        .annotate(n=Count("id", distinct=True))
        .values_list("kind", "n")
    )
    staff = [(label, staff_by_kind.get(kind, 0)) for kind, label in StaffKind.choices]
    context = {
        "divisions": divisions,
        "beats": places.beat_list(user=user).count(),
        "stations": places.station_list(user=user).count(),
        "offices": places.office_list(user=user).count(),
        "dwellings": places.dwelling_list(user=user).count(),
        "staff": staff,
        "staff_total": sum(n for _, n in staff),
        "summary": teams.compliance_summary(user=user),
    }
    return render(request, "home.html", context)
