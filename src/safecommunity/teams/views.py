"""Compliance with the 1+2+N rule, the staff list and the duty roster. Reads go through the
selectors, so all of it is limited to the user's jurisdiction."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from safecommunity.accounts.views import current_user
from safecommunity.places import selectors as places
from safecommunity.places.models import PoliceOffice
from safecommunity.teams import selectors
from safecommunity.teams.forms import RosterFilterForm, StaffFilterForm
from safecommunity.teams.models import DutyShift

STAFF_PER_PAGE = 50
OFFICES_PER_PAGE = 20


@login_required
@require_GET
def compliance(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    report = selectors.compliance_report(user=user)
    context = {
        "summary": report.summary,
        "stations": report.by_station,
        # One district needs no table of its own: its stations say it all.
        "districts": report.by_district if len(report.by_district) > 1 else [],
        "breaking": report.breaking,
    }
    return render(request, "teams/compliance.html", context)


@login_required
@require_GET
def staff_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    form = StaffFilterForm(request.GET)
    kind = form.cleaned_data["kind"] if form.is_valid() else ""
    staff = selectors.staff_list(user=user, kind=kind or None).select_related("station")
    page = Paginator(staff, STAFF_PER_PAGE).get_page(request.GET.get("page"))
    # The beats of the people on this page, in one query and only those in scope.
    beats: dict[int, list[tuple[int, str]]] = defaultdict(list)
    rows = (
        places.beat_list(user=user)
        .filter(assignments__staff__in=[s.pk for s in page])
        .order_by("code")
        .values_list("assignments__staff", "id", "name")
    )
    for staff_id, beat_id, name in rows:
        beats[staff_id].append((beat_id, name))
    # A station outside the jurisdiction is not named (an officer helping in another district).
    stations = selectors.staff_stations_in_scope(user=user, staff=page)
    people = [
        (s, s.station if s.station_id in stations else None, beats.get(s.pk, [])) for s in page
    ]
    status = 200 if form.is_valid() else 400
    query = urlencode({"kind": kind}) if kind else ""
    context = {"form": form, "page": page, "people": people, "query": query}
    return render(request, "teams/staff_list.html", context, status=status)


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


@login_required
@require_GET
def roster(request: HttpRequest) -> HttpResponse:
    """This week's (or one day's) duty roster, by office."""
    user = current_user(request)
    form = RosterFilterForm(request.GET or None, offices=places.office_list(user=user))
    today = timezone.localdate()
    office: PoliceOffice | None = None
    view = "week"
    start = _week_start(today)
    status = 200
    if form.is_bound and form.is_valid():
        office = form.cleaned_data["office"]
        view = form.cleaned_data["view"] or "week"
        start = form.cleaned_data["start"] or (today if view == "day" else start)
        if view == "week":
            start = _week_start(start)
    elif form.is_bound:
        status = 400
    days = [start + timedelta(days=i) for i in range(7 if view == "week" else 1)]
    # A page of offices at a time: a city has thousands, each with a week of shifts.
    if office is not None:
        page = Paginator([office], 1).get_page(1)
    else:
        page = Paginator(places.office_list(user=user).order_by("code"), OFFICES_PER_PAGE).get_page(
            request.GET.get("page")
        )
    shifts = selectors.duty_roster(user=user, offices=list(page), start=start, days=len(days))
    # office → one list of shifts per day (a shift belongs to the day it starts, or to the
    # first day shown when it started before). Offices without shifts show empty days.
    table: dict[int, list[list[DutyShift]]] = {o.pk: [[] for _ in days] for o in page}
    for shift in shifts:
        index = max(0, (timezone.localtime(shift.starts_at).date() - start).days)
        table[shift.office_id][min(index, len(days) - 1)].append(shift)
    step = timedelta(days=len(days))
    query = {"view": view, "start": start.isoformat()}
    if office is not None:
        query["office"] = str(office.pk)
    context = {
        "form": form,
        "view": view,
        "days": days,
        "today": today,
        "table": [(o, table[o.pk]) for o in page],
        "page": page,
        "office_choices": places.office_list(user=user).order_by("code").values_list("pk", "name"),
        "query": urlencode(query),
        "office": office,
        "previous": start - step,
        "next": start + step,
    }
    return render(request, "teams/roster.html", context, status=status)
