"""Reads for residents' requests.

Staff reads are narrowed to the user's scope (an out-of-scope request is a 404, like an
unknown one). Public reads (Open311, the resident's status page) see every request but only
through ``PUBLIC_FIELDS``: nothing personal is ever selected for them (no contact, no dwelling
link); what they show of the place is narrowed further on the way out — the address to the
building (``services.public_address``), the point to three decimals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from safecommunity.accounts.models import User
from safecommunity.accounts.scope import scope_filter
from safecommunity.service_requests.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    RequestEvent,
    Service,
    ServiceAttribute,
    ServiceRequest,
    english,
)
from safecommunity.teams.models import Assignment, Staff

# The columns a public read may load: no contact, no creator, no dwelling link.
PUBLIC_FIELDS = (
    "id",
    "service_request_id",
    "token",
    "service__service_code",
    "service__name_zh",
    "service__name_en",
    "service__public_details",
    "description",
    "lat",
    "lng",
    "address_string",
    "status",
    "status_notes",
    "agency_responsible",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "media_url",
)


def service_list() -> QuerySet[Service]:
    return Service.objects.filter(active=True).order_by("order", "service_code")


def service_get(*, code: str) -> Service | None:
    if not _storable(code):
        return None
    return service_list().filter(service_code=code).first()


def service_attributes(service: Service) -> list[ServiceAttribute]:
    return list(service.attributes.order_by("order", "code"))


# --- staff -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestFilter:
    status: str = ""
    service: str = ""
    overdue: bool = False
    mine: bool = False


def request_list(
    *, user: User, filters: RequestFilter | None = None, now: datetime | None = None
) -> QuerySet[ServiceRequest]:
    """Requests in scope, newest first, with what a list shows (fixed number of queries)."""
    qs = scope_filter(ServiceRequest.objects.all(), user).select_related(
        "service", "beat", "assigned_to"
    )
    f = filters or RequestFilter()
    if f.status:
        qs = qs.filter(status=f.status)
    if f.service:
        qs = qs.filter(service__service_code=f.service if _storable(f.service) else "")
    if f.overdue:
        qs = qs.filter(status__in=OPEN_STATUSES, expected_datetime__lt=now or timezone.now())
    if f.mine:
        qs = qs.filter(assigned_to__user=user)
    return qs.order_by("-requested_datetime", "-id")


def _storable(text: str) -> bool:
    """False for text PostgreSQL cannot even compare (a NUL character): no row has it."""
    return "\x00" not in text


def request_get(*, user: User, service_request_id: str) -> ServiceRequest:
    if not _storable(service_request_id):
        raise Http404
    return get_object_or_404(
        scope_filter(ServiceRequest.objects.all(), user).select_related(
            "service", "beat", "beat__station", "assigned_to", "dwelling"
        ),
        service_request_id=service_request_id,
    )


def request_events(request: ServiceRequest) -> QuerySet[RequestEvent]:
    return request.events.select_related("assignee").order_by("at", "id")


def request_team(request: ServiceRequest) -> list[Staff]:
    """Who the request may be given to: the team of its beat, the responsible officer first."""
    assignments = (
        Assignment.objects.filter(beat_id=request.beat_id)
        .select_related("staff")
        .order_by("-responsible", "kind", "staff__name")
    )
    return [a.staff for a in assignments]


def attribute_rows(request: ServiceRequest) -> list[tuple[str, str]]:
    """The request's answers as (question, answer) in the active language, in the service's
    order; a list's keys become their names."""
    rows = []
    for definition in service_attributes(request.service):
        value = request.attributes.get(definition.code)
        if value in (None, "", []):
            continue
        names = {v["key"]: v["name"] for v in definition.shown_values()}
        items = value if isinstance(value, list) else [value]
        shown = "、".join(names.get(str(item), str(item)) for item in items)
        rows.append((definition.shown_description, shown))
    return rows


def is_overdue(request: ServiceRequest, now: datetime | None = None) -> bool:
    return (
        request.status in OPEN_STATUSES
        and request.expected_datetime is not None
        and request.expected_datetime < (now or timezone.now())
    )


# --- public ----------------------------------------------------------------------------------


def public_requests() -> QuerySet[ServiceRequest]:
    """Every request, loading only public columns (Open311 and the status page)."""
    return ServiceRequest.objects.select_related("service").only(*PUBLIC_FIELDS)


def public_request(*, service_request_id: str) -> ServiceRequest | None:
    if not _storable(service_request_id):
        return None
    return public_requests().filter(service_request_id=service_request_id).first()


def public_request_by_token(*, token: str) -> ServiceRequest | None:
    if not _storable(token):
        return None
    return public_requests().filter(token=token).first()


@dataclass(frozen=True)
class Open311Query:
    ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()  # "open" / "closed"
    start: datetime | None = None
    end: datetime | None = None
    limit: int = 100


class PublicRequest(NamedTuple):
    """One request as public reads see it: plain values of public columns only, so nothing
    personal can be reached from it (no model instance, no lazy relation)."""

    service_request_id: str
    service_code: str
    name_zh: str
    name_en: str
    public_details: bool
    description: str
    lat: float | None
    lng: float | None
    address_string: str
    status: str
    status_notes: str
    agency_responsible: str
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime | None
    media_url: str

    @property
    def service_name(self) -> str:
        return self.name_en if english() else self.name_zh

    @property
    def open311_status(self) -> str:
        return "closed" if self.status in CLOSED_STATUSES else "open"


_PUBLIC_COLUMNS = (
    "service_request_id",
    "service__service_code",
    "service__name_zh",
    "service__name_en",
    "service__public_details",
    "description",
    "lat",
    "lng",
    "address_string",
    "status",
    "status_notes",
    "agency_responsible",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "media_url",
)


def open311_requests(query: Open311Query) -> list[PublicRequest]:
    """GET requests: by ids (which override every other filter, as the spec says), else by
    service codes, Open311 status and the requested-date window, newest first.

    Newest first in a date window is a backward scan of the ``requested_datetime`` index that
    stops at ``limit`` rows; the service and status filters are checked on the way.
    """
    qs = ServiceRequest.objects.all()
    if query.ids:
        qs = qs.filter(service_request_id__in=[i for i in query.ids if _storable(i)])
    else:
        if query.service_codes:
            service_ids = list(
                Service.objects.filter(service_code__in=query.service_codes).values_list(
                    "pk", flat=True
                )
            )
            qs = qs.filter(service_id__in=service_ids)
        wanted = set(query.statuses)
        if wanted == {"open"}:
            qs = qs.filter(status__in=OPEN_STATUSES)
        elif wanted == {"closed"}:
            qs = qs.filter(status__in=CLOSED_STATUSES)
        if query.start is not None:
            qs = qs.filter(requested_datetime__gte=query.start)
        if query.end is not None:
            qs = qs.filter(requested_datetime__lte=query.end)
    rows = qs.order_by("-requested_datetime", "-id").values_list(*_PUBLIC_COLUMNS)
    return [PublicRequest(*row) for row in rows[: query.limit]]


def public_request_row(*, service_request_id: str) -> PublicRequest | None:
    if not _storable(service_request_id):
        return None
    found = open311_requests(Open311Query(ids=(service_request_id,), limit=1))
    return found[0] if found else None
