"""Place browser, detail pages and the beat map. Every read goes through ``places.selectors``,
so anything outside the user's jurisdiction answers 404."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from safecommunity.accounts.models import Role, User
from safecommunity.accounts.scope import scope_for
from safecommunity.accounts.views import current_user
from safecommunity.places import metrics, selectors, services
from safecommunity.places.forms import BoundaryFileForm, PointForm
from safecommunity.places.models import Division, DivisionKind
from safecommunity.teams import selectors as teams
from safecommunity.teams.models import StaffKind

BEATS_PER_PAGE = 50


def _crumbs(user: User, divisions: list[Division]) -> list[tuple[Division, bool]]:
    """Breadcrumb entries: every division above, linked only where the user may open it."""
    scope = scope_for(user)
    return [(division, scope.covers(division.path)) for division in divisions]


@login_required
@require_GET
def browser(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    roots = selectors.tree_roots(user=user)
    return render(request, "places/browser.html", {"roots": roots})


@login_required
@require_GET
def division_children(request: HttpRequest, pk: int) -> HttpResponse:
    """The htmx fragment that expands one node of the place tree."""
    user = current_user(request)
    division = selectors.division_get(user=user, pk=pk)
    beats = (
        selectors.beats_of_division(user=user, division=division).select_related("station")
        if division.kind == DivisionKind.COMMUNITY
        else None
    )
    context = {
        "children": selectors.division_children(user=user, division=division),
        "beats": beats,
    }
    return render(request, "places/_children.html", context)


@login_required
@require_GET
def division_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    division = selectors.division_get(user=user, pk=pk)
    beats = selectors.beats_of_division(user=user, division=division).select_related(
        "station", "office"
    )
    page = Paginator(beats, BEATS_PER_PAGE).get_page(request.GET.get("page"))
    dwellings = (
        selectors.dwelling_list(user=user).filter(path__startswith=division.path + ".").count()
    )
    context = {
        "division": division,
        "crumbs": _crumbs(user, selectors.division_ancestors(division)),
        "children": selectors.division_children(user=user, division=division),
        "page": page,
        "dwellings": dwellings,
    }
    return render(request, "places/division_detail.html", context)


@login_required
@require_GET
def beat_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    beat = selectors.beat_get(user=user, pk=pk)
    community = beat.grid.community
    team = list(teams.beat_team(user=user, beat=beat))
    officers = sum(1 for a in team if a.responsible and a.kind == StaffKind.COMMUNITY_OFFICER)
    workers = sum(1 for a in team if a.kind == StaffKind.COMMUNITY_WORKER)
    grid_workers = sum(1 for a in team if a.kind == StaffKind.GRID_WORKER)
    context = {
        "beat": beat,
        "crumbs": _crumbs(user, [*selectors.division_ancestors(community), community]),
        "team": team,
        "problems": teams.compliance_problems(officers, workers, grid_workers),
        "dwellings": selectors.dwelling_list(user=user).filter(grid_id=beat.grid_id).count(),
    }
    return render(request, "places/beat_detail.html", context)


@login_required
@require_GET
def station_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    station = selectors.station_get(user=user, pk=pk)
    context = {
        "station": station,
        "beats": selectors.beat_list(user=user)
        .filter(station=station)
        .select_related("office", "grid__community"),
        "offices": selectors.office_list(user=user).filter(station=station),
    }
    return render(request, "places/station_detail.html", context)


@login_required
@require_GET
def office_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    office = selectors.office_get(user=user, pk=pk)
    context = {
        "office": office,
        "beats": selectors.beat_list(user=user).filter(office=office).select_related("grid"),
        "shifts": teams.duty_roster(user=user, office=office),
    }
    return render(request, "places/office_detail.html", context)


@login_required
@require_GET
def beat_map(request: HttpRequest) -> HttpResponse:
    chosen = request.GET.get("metric", "")
    context = {
        "metrics": metrics.available(),
        "chosen": chosen if metrics.get(chosen) is not None else "",
        "map_config": {
            "geojsonUrl": reverse("places:map_geojson"),
            "beatAtUrl": reverse("places:beat_at"),
            "beatUrl": reverse("places:beat", args=[0]),
            "tileUrl": settings.MAP_TILE_URL,
            "tileAttribution": settings.MAP_TILE_ATTRIBUTION,
            "text": {
                "value": _("Value"),
                "station": _("Police station"),
                "office": _("Police office"),
                "open": _("Open the beat page"),
                "noBeat": _("No beat of your jurisdiction at this point."),
                "noBeats": _("No beats with a boundary in your jurisdiction."),
                "badPoint": _("Enter a latitude and a longitude."),
                "loading": _("Loading…"),
                "failed": _("The map data could not be loaded."),
                "noMetric": _("Choose a metric to colour the beats."),
            },
        },
    }
    return render(request, "places/map.html", context)


def _json_error(message: str, status: int, **extra: Any) -> JsonResponse:
    return JsonResponse({"detail": message, **extra}, status=status)


@login_required
@require_GET
def beats_geojson(request: HttpRequest) -> HttpResponse:
    """The beats in scope as GeoJSON, each with ``value`` when a metric is chosen."""
    user = current_user(request)
    metric = request.GET.get("metric") or None
    if metric is not None and metrics.get(metric) is None:
        return _json_error(
            _("Unknown metric “%(metric)s”.") % {"metric": metric},
            400,
            metrics=[m.key for m in metrics.available()],
        )
    body = selectors.beats_geojson(user=user, metric=metric)
    return HttpResponse(body, content_type="application/geo+json; charset=utf-8")


@login_required
@require_GET
def beat_at(request: HttpRequest) -> JsonResponse:
    """Point → the beat there, with its grid, station and office. 404 when there is none in
    the user's jurisdiction; 400 when the point is malformed."""
    user = current_user(request)
    form = PointForm(request.GET)
    if not form.is_valid():
        return _json_error(
            _("Give lat and lng as numbers (latitude −90…90, longitude −180…180)."),
            400,
            errors={field: [str(e) for e in errs] for field, errs in form.errors.items()},
        )
    try:
        beat = selectors.beat_at_for(
            user=user, lat=form.cleaned_data["lat"], lng=form.cleaned_data["lng"]
        )
    except Http404:
        return _json_error(_("No beat of your jurisdiction at this point."), 404)
    office = beat.office
    return JsonResponse(
        {
            "beat": {
                "id": beat.pk,
                "code": beat.code,
                "name": beat.name,
                "url": reverse("places:beat", args=[beat.pk]),
            },
            "grid": {"id": beat.grid_id, "code": beat.grid.code, "name": beat.grid.name},
            "community": beat.grid.community.name,
            "station": {"id": beat.station_id, "name": beat.station.name},
            "office": None
            if office is None
            else {
                "id": office.pk,
                "name": office.name,
                "address": office.address,
                "phone": office.phone,
            },
        }
    )


@login_required
@require_http_methods(["GET", "POST"])
def boundaries_import(request: HttpRequest) -> HttpResponse:
    """Upload a GeoJSON file of division and grid boundaries (administrators only).

    All or nothing: on any problem the page lists each one by feature and nothing changes.
    """
    user = current_user(request)
    if user.role != Role.ADMIN:
        raise Http404
    result = None
    form = BoundaryFileForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        result = services.boundaries_import(data=form.cleaned_data["file"], actor=user)
    status = 400 if (request.method == "POST" and (result is None or result.errors)) else 200
    return render(
        request, "places/boundaries_import.html", {"form": form, "result": result}, status=status
    )
