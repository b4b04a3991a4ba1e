"""The resident's pages (no login): file a request on a map or by address, get a tracking
number, see its status. CSRF stays on; submissions are limited per client address; nothing
personal is shown — the status page reads only public columns, gives the address down to the
building only, and for private kinds (``Service.public_details`` off) neither the description,
the place nor the officers' notes."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from safecommunity.accounts.services import client_address
from safecommunity.places.models import Beat
from safecommunity.service_requests import selectors, services
from safecommunity.service_requests.forms import PublicRequestForm, TrackForm
from safecommunity.service_requests.models import Service, ServiceAttribute, Source, Status

# Submissions one client address may make per hour through the public page.
SUBMISSIONS_PER_HOUR = 10
_WINDOW_SECONDS = 3600

# What the resident reads for each internal status.
PUBLIC_STATUS = {
    Status.NEW: gettext_lazy("Received"),
    Status.ASSIGNED: gettext_lazy("Assigned to your community officer"),
    Status.IN_PROGRESS: gettext_lazy("Being worked on"),
    Status.DONE: gettext_lazy("Done"),
    Status.CLOSED: gettext_lazy("Closed"),
}


def _rate_key(request: HttpRequest) -> str:
    return f"safecommunity:help-submit:{client_address(request) or 'unknown'}"


def _over_limit(request: HttpRequest) -> bool:
    """Count this submission; True once the address has made too many this hour."""
    key = _rate_key(request)
    cache.add(key, 0, timeout=_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=_WINDOW_SECONDS)
        count = 1
    return count > SUBMISSIONS_PER_HOUR


def _attribute_fields(
    service_list: list[Service],
) -> list[tuple[Service, list[ServiceAttribute]]]:
    by_service: dict[int, list[ServiceAttribute]] = {s.pk: [] for s in service_list}
    for attribute in ServiceAttribute.objects.filter(service__in=service_list).order_by(
        "order", "code"
    ):
        if attribute.variable:
            by_service[attribute.service_id].append(attribute)
    return [(s, by_service[s.pk]) for s in service_list]


def _posted_attributes(request: HttpRequest, service: Service) -> dict[str, Any]:
    prefix = f"a_{service.service_code}_"
    found: dict[str, Any] = {}
    for key in request.POST:
        if key.startswith(prefix):
            values = request.POST.getlist(key)
            found[key[len(prefix) :]] = values if len(values) > 1 else values[0]
    multi = set(service.attributes.filter(datatype="multivaluelist").values_list("code", flat=True))
    for code in multi:
        if code in found and not isinstance(found[code], list):
            found[code] = [found[code]]
    return found


def _map_config() -> dict[str, Any]:
    return {
        "geojsonUrl": reverse("resident:beats_geojson"),
        "tileUrl": settings.MAP_TILE_URL,
        "tileAttribution": settings.MAP_TILE_ATTRIBUTION,
        "text": {
            "chosen": _("Place chosen: %(lat)s, %(lng)s"),
            "failed": _("The map could not be loaded; enter the address instead."),
        },
    }


@require_http_methods(["GET", "POST"])
def file_request(request: HttpRequest) -> HttpResponse:
    service_list = list(selectors.service_list())
    form = PublicRequestForm(request.POST or None, services=service_list)
    error = ""
    status = 200
    chosen = ""
    if request.method == "POST":
        chosen = str(request.POST.get("service", ""))[:32]
        if _over_limit(request):
            error = _(
                "Too many requests from your network in the last hour; please call your "
                "police office instead or try again later."
            )
            status = 429
        elif form.is_valid():
            data = form.cleaned_data
            service = next(s for s in service_list if s.service_code == data["service"])
            try:
                row = services.request_submit(
                    service_code=service.service_code,
                    description=data["description"],
                    lat=data["lat"],
                    lng=data["lng"],
                    address_string=data["address"],
                    attributes=_posted_attributes(request, service),
                    contact={"name": data["name"], "phone": data["phone"]},
                    source=Source.PUBLIC,
                )
            except services.RequestError as exc:
                error = " ".join(exc.messages)
                status = 400
            else:
                return redirect("resident:status", service_request_id=row.service_request_id)
        else:
            status = 400
    context = {
        "form": form,
        "services": _attribute_fields(service_list),
        "chosen": chosen or (service_list[0].service_code if service_list else ""),
        "posted": request.POST,
        "error": error,
        "map_config": _map_config(),
    }
    return render(request, "service_requests/public_file.html", context, status=status)


@require_GET
def track(request: HttpRequest) -> HttpResponse:
    form = TrackForm(request.GET or None)
    status = 200
    if form.is_valid():
        number = services.normalize_tracking_number(form.cleaned_data["number"])
        if selectors.public_request(service_request_id=number) is not None:
            return redirect("resident:status", service_request_id=number)
        form.add_error("number", _("No request has this tracking number."))
        status = 404
    elif form.is_bound:
        status = 400
    return render(request, "service_requests/public_track.html", {"form": form}, status=status)


@require_GET
def request_status(request: HttpRequest, service_request_id: str) -> HttpResponse:
    row = selectors.public_request(
        service_request_id=services.normalize_tracking_number(service_request_id)
    )
    if row is None:
        form = TrackForm({"number": service_request_id[:32]})
        form.is_valid()
        form.add_error("number", _("No request has this tracking number."))
        return render(request, "service_requests/public_track.html", {"form": form}, status=404)
    details = row.service.public_details
    context = {
        "req": row,
        "public_status": PUBLIC_STATUS.get(Status(row.status), ""),
        "closed": row.open311_status == "closed",
        "details": details,
        # Down to the building only; the officers' notes of a private kind are not shown.
        "address": services.public_address(row.address_string) if details else "",
        "status_notes": row.status_notes if details else "",
    }
    return render(request, "service_requests/public_status.html", context)


@require_GET
def beats_geojson(request: HttpRequest) -> HttpResponse:
    """Every beat's boundary and name (public facts) for the map on the resident's page."""
    rows = Beat.objects.exclude(grid__boundary="").values_list("pk", "name", "grid__boundary")
    features = ",".join(
        '{"type":"Feature","properties":'
        + json.dumps({"id": pk, "name": name}, ensure_ascii=False)
        + ',"geometry":'
        + boundary
        + "}"
        for pk, name, boundary in rows
    )
    body = '{"type":"FeatureCollection","features":[' + features + "]}"
    response = HttpResponse(body, content_type="application/geo+json; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return response
