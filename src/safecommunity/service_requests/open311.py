"""Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2) at ``/open311/v2/``.

Every resource answers in the format its suffix names, ``.json`` or ``.xml``; errors too, in
the spec's shape (``[{"code": 400, "description": "…"}]`` or ``<errors><error>…``) with the
matching HTTP status: 400 for a missing or malformed parameter, 403 for a missing or unknown
``api_key``, 404 for an unknown service, request, token or jurisdiction. No input answers 500.

Requests are routed while they are posted, so a POST answers with the
``service_request_id`` at once — and with a ``token`` as well, which ``tokens/{token}`` turns
back into the id, for clients written for servers that queue.

Public reads show no personal data: never the contact, never who worked the request. The
place is given down to the building only (``address`` drops the entrance, unit and room, even
when the request was filed by ``address_id``; ``lat``/``long`` are rounded to three decimals,
about 100 m), so no answer points at a flat. For kinds that would point at a vulnerable person
(``Service.public_details`` off: elderly assistance, key custody, certificates of residence)
not even the description, the place or the officers' ``status_notes`` are shown. POST is
CSRF-exempt: the ``api_key`` is its authentication.

Dates (``start_date``, ``end_date``, datetime attributes) must lie in the years 2000 to 2100;
others are refused with a 400 like any malformed parameter.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any
from xml.sax.saxutils import escape

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from safecommunity.places.models import Division, DivisionKind
from safecommunity.service_requests import selectors, services
from safecommunity.service_requests.models import Service, Source

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-02T00:00:00+08:00"
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
WINDOW = timedelta(days=90)
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_IDS = 100
MAX_PARAM = 4000
# Characters XML 1.0 cannot carry, removed from text on the way out.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,32})\](\[\])?$")
# How a list is written in XML: the element of each item under the list's element.
_ITEM_TAG = {
    "values": "value",
    "attributes": "attribute",
    "endpoints": "endpoint",
    "formats": "format",
}


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


# --- rendering -------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(_NOT_XML.sub("", str(value)))


def _fill(out: list[str], data: Mapping[str, Any]) -> None:
    """Append ``data`` as XML elements to ``out`` (tag names are ours, never input)."""
    for key, value in data.items():
        if isinstance(value, Mapping):
            out.append(f"<{key}>")
            _fill(out, value)
            out.append(f"</{key}>")
        elif isinstance(value, list):
            item_tag = _ITEM_TAG.get(key, "item")
            out.append(f"<{key}>")
            for item in value:
                out.append(f"<{item_tag}>")
                if isinstance(item, Mapping):
                    _fill(out, item)
                else:
                    out.append(_text(item))
                out.append(f"</{item_tag}>")
            out.append(f"</{key}>")
        else:
            out.append(f"<{key}>{_text(value)}</{key}>")


def render(fmt: str, data: Any, *, root: str, item: str = "", status: int = 200) -> HttpResponse:
    """``data`` (a dict, or a list of dicts under ``root``/``item``) as JSON or XML.

    XML is written as text (escaped, characters XML 1.0 cannot carry removed): a thousand
    requests build in a few milliseconds, where an element tree took tens.
    """
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False).encode()
    else:
        out = ['<?xml version="1.0" encoding="utf-8"?>', f"<{root}>"]
        if isinstance(data, list):
            for entry in data:
                out.append(f"<{item}>")
                _fill(out, entry)
                out.append(f"</{item}>")
        else:
            _fill(out, data)
        out.append(f"</{root}>")
        body = "".join(out).encode()
    return HttpResponse(body, status=status, content_type=FORMATS[fmt])


def error(fmt: str, status: int, description: str) -> HttpResponse:
    return render(
        fmt if fmt in FORMATS else "json",
        [{"code": status, "description": description}],
        root="errors",
        item="error",
        status=status,
    )


def _w3c(value: datetime | None, tz: tzinfo) -> str | None:
    return value.astimezone(tz).isoformat(timespec="seconds") if value else None


def _handle(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn ``Open311Error`` (and Django's refusals of oversized or malformed input) into the
    spec's error answer, in the requested format."""

    def wrapper(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
        # Programs call Open311: like the JSON API, it honours Accept-Language (pages do not).
        with translation.override(translation.get_language_from_request(request)):
            try:
                return view(request, fmt, **kwargs)
            except Open311Error as exc:
                return error(fmt, exc.status, exc.description)
            except RequestDataTooBig:
                return error(fmt, 400, _("The request body is too large."))
            except SuspiciousOperation:
                return error(fmt, 400, _("The request has too many or malformed parameters."))

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


# --- parameters ------------------------------------------------------------------------------


def _param(params: QueryDict, name: str) -> str:
    value = params.get(name, "")
    if "\x00" in value:
        raise Open311Error(400, _("%(name)s contains a NUL character.") % {"name": name})
    if len(value) > MAX_PARAM:
        raise Open311Error(400, _("%(name)s is too long.") % {"name": name})
    return value.strip()


def is_whole_number(text: str) -> bool:
    """ASCII digits only: ``"²".isdigit()`` is true, but ``int("²")`` fails."""
    return text.isascii() and text.isdigit()


def _check_jurisdiction(params: QueryDict) -> None:
    """``jurisdiction_id`` is optional; given, it must be the code of a city served here."""
    value = _param(params, "jurisdiction_id")
    if not value:
        return
    if not Division.objects.filter(kind=DivisionKind.CITY, code=value).exists():
        raise Open311Error(
            404, _("jurisdiction_id “%(value)s” is not served here.") % {"value": value[:50]}
        )


def _list(params: QueryDict, name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in _param(params, name).split(",") if item.strip())


def _date(params: QueryDict, name: str) -> datetime | None:
    value = _param(params, name)
    if not value:
        return None
    moment = services.parse_w3c_datetime(value)
    if moment is None:
        raise Open311Error(
            400,
            _("%(name)s “%(value)s” is not a W3C datetime such as 2010-01-01T00:00:00Z.")
            % {"name": name, "value": value[:50]},
        )
    if not services.in_years(moment):
        raise Open311Error(
            400,
            _("%(name)s “%(value)s” lies outside the years %(first)d to %(last)d.")
            % {
                "name": name,
                "value": value[:50],
                "first": services.EARLIEST_YEAR,
                "last": services.LATEST_YEAR,
            },
        )
    return moment


def _float(params: QueryDict, name: str) -> float | None:
    value = _param(params, name)
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise Open311Error(400, _("%(name)s must be a number.") % {"name": name})
    return number


# --- resources -------------------------------------------------------------------------------


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("open311:discovery", args=["json"])).rsplit("/", 1)[0]


@_handle
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    data = {
        "changeset": CHANGESET,
        "contact": _("Your community police office; see “Find my officer”."),
        "key_service": _("Ask the public-security bureau for an api_key to post requests."),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": _base_url(request),
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(fmt, data, root="discovery")


def _service_out(service: Service, has_attributes: bool) -> dict[str, Any]:
    return {
        "service_code": service.service_code,
        "service_name": service.name,
        "description": service.shown_description,
        "metadata": has_attributes,
        "type": service.type,
        "keywords": service.keywords,
        "group": service.group,
    }


@_handle
def service_index(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method != "GET":
        raise Open311Error(405, _("Use GET."))
    _check_jurisdiction(request.GET)
    services_ = list(selectors.service_list())
    with_attributes = set(
        Service.objects.filter(attributes__isnull=False).values_list("pk", flat=True)
    )
    data = [_service_out(s, s.pk in with_attributes) for s in services_]
    return render(fmt, data, root="services", item="service")


@_handle
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    _check_jurisdiction(request.GET)
    service = selectors.service_get(code=code)
    if service is None:
        raise Open311Error(
            404, _("service_code “%(code)s” is not a known service.") % {"code": code[:50]}
        )
    attributes = [
        {
            "variable": a.variable,
            "code": a.code,
            "datatype": a.datatype,
            "required": a.required,
            "datatype_description": a.datatype_description,
            "order": a.order,
            "description": a.shown_description,
            "values": a.shown_values(),
        }
        for a in selectors.service_attributes(service)
    ]
    data = {"service_code": service.service_code, "attributes": attributes}
    return render(fmt, data, root="service_definition")


def request_out(row: selectors.PublicRequest, tz: tzinfo | None = None) -> dict[str, Any]:
    """One request as the public sees it: public columns only (``selectors.PublicRequest``).
    Times are W3C datetimes in ``tz`` (the current time zone, Asia/Shanghai)."""
    tz = tz or timezone.get_current_timezone()
    details = row.public_details
    return {
        "service_request_id": row.service_request_id,
        "status": row.open311_status,
        "status_notes": row.status_notes if details else "",
        "service_name": row.service_name,
        "service_code": row.service_code,
        "description": row.description if details else "",
        "agency_responsible": row.agency_responsible,
        "service_notice": "",
        "requested_datetime": _w3c(row.requested_datetime, tz),
        "updated_datetime": _w3c(row.updated_datetime, tz),
        "expected_datetime": _w3c(row.expected_datetime, tz),
        "address": services.public_address(row.address_string) if details else "",
        "address_id": "",
        "zipcode": "",
        "lat": services.public_coordinate(row.lat) if details else None,
        "long": services.public_coordinate(row.lng) if details else None,
        "media_url": row.media_url if details else "",
    }


@csrf_exempt
@_handle
def requests_resource(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _post_request(request, fmt)
    if request.method != "GET":
        raise Open311Error(405, _("Use GET or POST."))
    return _get_requests(request, fmt)


def _get_requests(request: HttpRequest, fmt: str) -> HttpResponse:
    params = request.GET
    _check_jurisdiction(params)
    limit = DEFAULT_LIMIT
    raw_limit = _param(params, "limit") or _param(params, "page_size")
    if raw_limit:
        if not is_whole_number(raw_limit) or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise Open311Error(
                400, _("limit must be a whole number from 1 to %(max)d.") % {"max": MAX_LIMIT}
            )
        limit = int(raw_limit)
    ids = _list(params, "service_request_id")
    if ids:
        if len(ids) > MAX_IDS:
            raise Open311Error(
                400, _("Ask for at most %(max)d service_request_id at once.") % {"max": MAX_IDS}
            )
        query = selectors.Open311Query(ids=ids, limit=limit)
        return _requests_answer(fmt, selectors.open311_requests(query))
    statuses = _list(params, "status")
    bad = [s for s in statuses if s not in ("open", "closed")]
    if bad:
        raise Open311Error(
            400, _("status “%(value)s” is neither open nor closed.") % {"value": bad[0][:20]}
        )
    codes = _list(params, "service_code")
    unknown = set(codes) - set(
        Service.objects.filter(service_code__in=codes).values_list("service_code", flat=True)
    )
    if unknown:
        raise Open311Error(
            404,
            _("service_code “%(code)s” is not a known service.")
            % {"code": sorted(unknown)[0][:50]},
        )
    start, end = _date(params, "start_date"), _date(params, "end_date")
    if start is None and end is None:
        end = timezone.now()
        start = end - WINDOW
    elif start is None:
        assert end is not None  # noqa: S101  # the branch above
        start = end - WINDOW
    elif end is None:
        end = start + WINDOW
    if end < start:
        raise Open311Error(400, _("end_date lies before start_date."))
    if end - start > WINDOW:
        raise Open311Error(400, _("start_date and end_date may not span more than 90 days."))
    query = selectors.Open311Query(
        service_codes=codes, statuses=statuses, start=start, end=end, limit=limit
    )
    return _requests_answer(fmt, selectors.open311_requests(query))


def _requests_answer(fmt: str, rows: Iterable[selectors.PublicRequest]) -> HttpResponse:
    tz = timezone.get_current_timezone()
    data = [request_out(r, tz) for r in rows]
    return render(fmt, data, root="service_requests", item="request")


def _attributes(params: QueryDict) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key in params:
        match = _ATTRIBUTE.match(key)
        if match is None:
            continue
        values = params.getlist(key)
        if any("\x00" in v for v in values):
            raise Open311Error(400, _("%(name)s contains a NUL character.") % {"name": key[:50]})
        if any(len(v) > MAX_PARAM for v in values):
            raise Open311Error(400, _("%(name)s is malformed.") % {"name": key[:50]})
        code, many = match.group(1), match.group(2)
        if many:
            found.setdefault(code, [])
            found[code] = [*found[code], *values]
        else:
            found[code] = values[-1]
    return found


def _post_request(request: HttpRequest, fmt: str) -> HttpResponse:
    params = request.POST.copy()
    # The spec's clients put api_key and jurisdiction_id in the query string or the body.
    for name in ("api_key", "jurisdiction_id"):
        if name not in params and name in request.GET:
            params[name] = request.GET[name]
    key = _param(params, "api_key")
    if not key:
        raise Open311Error(403, _("api_key is required to post a request."))
    api_key = services.api_key_check(key)
    if api_key is None:
        raise Open311Error(403, _("api_key is not valid."))
    _check_jurisdiction(params)
    code = _param(params, "service_code")
    if not code:
        raise Open311Error(400, _("service_code is required."))
    lat, lng = _float(params, "lat"), _float(params, "long")
    address_id: int | None = None
    raw_address_id = _param(params, "address_id")
    if raw_address_id:
        if not is_whole_number(raw_address_id) or len(raw_address_id) > 18:
            raise Open311Error(400, _("address_id must be a whole number."))
        address_id = int(raw_address_id)
    address = _param(params, "address_string")
    if lat is None and lng is None and not address and address_id is None:
        raise Open311Error(400, _("Say where: give lat and long, address_string or address_id."))
    contact = {name: _param(params, name) for name in ("first_name", "last_name", "phone", "email")}
    try:
        row = services.request_submit(
            service_code=code,
            description=_param(params, "description"),
            lat=lat,
            lng=lng,
            address_string=address,
            address_id=address_id,
            attributes=_attributes(params),
            contact=contact,
            media_url=_param(params, "media_url"),
            source=Source.OPEN311,
            api_key=api_key,
        )
    except services.UnknownService as exc:
        raise Open311Error(404, exc.messages[0]) from exc
    except services.RequestError as exc:
        raise Open311Error(400, exc.messages[0]) from exc
    data = [
        {
            "service_request_id": row.service_request_id,
            "token": row.token,
            "service_notice": "",
            "account_id": None,
        }
    ]
    return render(fmt, data, root="service_requests", item="request")


@_handle
def request_detail(request: HttpRequest, fmt: str, service_request_id: str) -> HttpResponse:
    _check_jurisdiction(request.GET)
    row = selectors.public_request_row(
        service_request_id=services.normalize_tracking_number(service_request_id)
    )
    if row is None:
        raise Open311Error(
            404,
            _("service_request_id “%(id)s” is not a known request.")
            % {"id": service_request_id[:40]},
        )
    return _requests_answer(fmt, [row])


@_handle
def token_detail(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    _check_jurisdiction(request.GET)
    row = selectors.public_request_by_token(token=token[:64])
    if row is None:
        raise Open311Error(404, _("token “%(token)s” is not known.") % {"token": token[:40]})
    data = [{"service_request_id": row.service_request_id, "token": row.token}]
    return render(fmt, data, root="service_requests", item="request")


@csrf_exempt
def not_found(request: HttpRequest, rest: str) -> HttpResponse:
    """Anything else under /open311/v2/: a 404 in the spec's shape (JSON unless .xml)."""
    fmt = "xml" if rest.endswith(".xml") else "json"
    with translation.override(translation.get_language_from_request(request)):
        return error(
            fmt,
            404,
            _("No such Open311 resource; see %(url)s.")
            % {"url": reverse("open311:discovery", args=["json"])},
        )
