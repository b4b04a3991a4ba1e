"""Field-work pages: today's work, the log forms (mobile-first; the visit form also works
offline through ``fieldwork.js`` and the service worker), lists, campaigns with their
coverage, and the route sheet of dwellings not yet visited.

Reads go through ``fieldwork.selectors`` (scoped), writes through ``fieldwork.services``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from safecommunity.accounts.scope import Scope
from safecommunity.accounts.views import current_user
from safecommunity.fieldwork import selectors, services
from safecommunity.fieldwork.forms import (
    CampaignForm,
    PatrolForm,
    PublicityForm,
    StationingForm,
    VisitForm,
    aware,
)
from safecommunity.people import selectors as people
from safecommunity.people.models import Resident
from safecommunity.people.services import resident_input

PER_PAGE = 50
DWELLING_CHOICES = 300


def _apply_errors(form: Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _require_log(request: HttpRequest) -> None:
    if not services.may_log(current_user(request)):
        raise PermissionDenied(_("You may read field work but not log it."))


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    today = timezone.localdate()
    context = {
        "mine": selectors.day_counts(user=user, day=today, mine=True),
        "in_scope": selectors.day_counts(user=user, day=today),
        "visits": selectors.visit_list(user=user).select_related("dwelling", "recorded_by")[:10],
        "patrols": selectors.patrol_list(user=user).select_related("beat", "recorded_by")[:5],
        "campaigns": list(selectors.campaigns_active(user=user, day=today)[:10]),
        "may_log": services.may_log(user),
        "may_plan": services.may_plan_campaigns(user),
    }
    return render(request, "fieldwork/index.html", context)


# --- visits ------------------------------------------------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def visit_new(request: HttpRequest) -> HttpResponse:
    """The visit form. With ``?dwelling=`` it is for that dwelling (its residents can be moved
    out); without, the dwelling is chosen from the jurisdiction's. ``fieldwork.js`` sends it
    through the API's idempotent endpoint, queueing it offline; this POST is the fallback
    without JavaScript, idempotent the same way."""
    user = current_user(request)
    _require_log(request)
    dwelling = None
    if "dwelling" in request.GET:
        try:
            dwelling = people.dwelling_get(user=user, pk=int(request.GET["dwelling"]))
        except ValueError as exc:
            raise Http404 from exc
    residents: QuerySet[Resident] = (
        Resident.objects.filter(
            residences__dwelling=dwelling, residences__until__isnull=True
        ).order_by("name", "pk")
        if dwelling is not None
        else Resident.objects.none()
    )
    if request.method == "POST":
        # A resend (a double tap, a reload after a lost answer) finds the visit it made,
        # before the form — whose moved-out residents have since moved — is checked again.
        already = _visit_sent(request, user)
        if already is not None:
            return redirect("fieldwork:visit_detail", pk=already)
    initial = {"dwelling": dwelling.pk} if dwelling is not None else {}
    form = VisitForm(request.POST or None, user=user, residents=residents, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            new = []
            if data["new_name"]:
                new.append(
                    services.NewResident(
                        data=resident_input(
                            name=data["new_name"],
                            gender=data["new_gender"] or None,
                            birth_date=data["new_birth_date"],
                            id_number=data["new_id_number"] or None,
                            phone=data["new_phone"] or None,
                        ),
                        relation=data["new_relation"] or "other",
                        registered=data["new_registered"],
                    )
                )
            result = services.visit_record(
                actor=user,
                dwelling=data["dwelling"],
                client_uuid=data["client_uuid"],
                outcome=data["outcome"],
                visited_at=aware(data["visited_at"]),
                residents_confirmed=data["residents_confirmed"],
                findings=data["findings"],
                campaign=data["campaign"],
                moved_out=list(data["moved_out"]),
                new_residents=new,
                open_as=form.finding(),
                request=request,
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("The visit was saved."))
            return redirect("fieldwork:visit_detail", pk=result.visit.pk)
    choices = (
        [dwelling]
        if dwelling is not None
        else list(people.dwelling_choices(user=user, limit=DWELLING_CHOICES))
    )
    context = {"form": form, "dwelling": dwelling, "choices": choices}
    status = 400 if request.method == "POST" else 200
    return render(request, "fieldwork/visit_form.html", context, status=status)


def _visit_sent(request: HttpRequest, user: Any) -> int | None:
    try:
        key = uuid.UUID(request.POST.get("client_uuid", ""))
    except ValueError:
        return None
    found: int | None = (
        selectors.visit_list(user=user).filter(client_uuid=key).values_list("pk", flat=True).first()
    )
    return found


@login_required
@require_GET
def visit_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    visits = selectors.visit_list(user=user).select_related("dwelling", "recorded_by", "campaign")
    page = Paginator(visits, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "fieldwork/visit_list.html", {"page": page})


@login_required
@require_GET
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    visit = selectors.visit_get(user=user, pk=pk)
    return render(request, "fieldwork/visit_detail.html", {"visit": visit})


# --- patrols, stationing, publicity ------------------------------------------------------------


def _log_form(
    request: HttpRequest,
    form_class: type[Form],
    save: Any,
    title: str,
    success: str,
    to: str,
) -> HttpResponse:
    user = current_user(request)
    _require_log(request)
    form = form_class(request.POST or None, user=user)  # type: ignore[call-arg]  # ours
    if request.method == "POST" and form.is_valid():
        try:
            save(user, form)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, success)
            return redirect(to)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "title": title}
    return render(request, "fieldwork/log_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def patrol_new(request: HttpRequest) -> HttpResponse:
    def save(user: Any, form: PatrolForm) -> None:
        d = form.cleaned_data
        services.patrol_record(
            actor=user,
            beat=d["beat"],
            route=d["route"],
            started_at=aware(d["started_at"]),
            ended_at=aware(d["ended_at"]),
            findings=d["findings"],
            open_as=form.finding(),
            request=request,
        )

    return _log_form(
        request,
        PatrolForm,
        save,
        _("Log a patrol"),
        _("The patrol was saved."),
        "fieldwork:patrols",
    )


@login_required
@require_http_methods(["GET", "POST"])
def stationing_new(request: HttpRequest) -> HttpResponse:
    def save(user: Any, form: StationingForm) -> None:
        d = form.cleaned_data
        services.stationing_record(
            actor=user,
            office=d["office"],
            started_at=aware(d["started_at"]),
            ended_at=aware(d["ended_at"]),
            notes=d["notes"],
            request=request,
        )

    return _log_form(
        request,
        StationingForm,
        save,
        _("Log a stationing shift"),
        _("The stationing shift was saved."),
        "fieldwork:stationing",
    )


@login_required
@require_http_methods(["GET", "POST"])
def publicity_new(request: HttpRequest) -> HttpResponse:
    def save(user: Any, form: PublicityForm) -> None:
        d = form.cleaned_data
        services.publicity_record(
            actor=user,
            beat=d["beat"],
            topic=d["topic"],
            place=d["place"],
            held_at=aware(d["held_at"]),
            people_reached=d["people_reached"],
            notes=d["notes"],
            request=request,
        )

    return _log_form(
        request,
        PublicityForm,
        save,
        _("Log a publicity event"),
        _("The publicity event was saved."),
        "fieldwork:publicity",
    )


def _list(request: HttpRequest, queryset: QuerySet[Any], template: str) -> HttpResponse:
    page = Paginator(queryset, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, template, {"page": page})


@login_required
@require_GET
def patrol_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    patrols = selectors.patrol_list(user=user).select_related("beat", "recorded_by")
    return _list(request, patrols, "fieldwork/patrol_list.html")


@login_required
@require_GET
def stationing_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    shifts = selectors.stationing_list(user=user).select_related("office", "beat", "recorded_by")
    return _list(request, shifts, "fieldwork/stationing_list.html")


@login_required
@require_GET
def publicity_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    events = selectors.publicity_list(user=user).select_related("beat", "recorded_by")
    return _list(request, events, "fieldwork/publicity_list.html")


# --- campaigns ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def campaign_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    may_plan = services.may_plan_campaigns(user)
    form = CampaignForm(request.POST or None, user=user) if may_plan else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied(_("You may not plan visit campaigns."))
        if form.is_valid():
            d = form.cleaned_data
            try:
                campaign = services.campaign_create(
                    actor=user,
                    name=d["name"],
                    path=d["path"],
                    starts_on=d["starts_on"],
                    ends_on=d["ends_on"],
                    request=request,
                )
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, _("The campaign was started."))
                return redirect("fieldwork:campaign_detail", pk=campaign.pk)
    page = Paginator(selectors.campaign_list(user=user), PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "form": form, "today": timezone.localdate()}
    status = 400 if request.method == "POST" else 200
    return render(request, "fieldwork/campaign_list.html", context, status=status)


@login_required
@require_GET
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Coverage of one campaign: the rows under ``?at=`` (a path), by default the top of the
    user's part of it, each linking further down, beats linking to their route sheet."""
    user = current_user(request)
    campaign = selectors.campaign_get(user=user, pk=pk)
    coverage = selectors.campaign_coverage(user=user, campaign=campaign)
    at = request.GET.get("at", "")
    if at and at not in coverage.rows:
        raise Http404
    if at:
        current = [coverage.rows[at]]
        rows = coverage.children(at)
    elif len(coverage.roots) == 1:
        current = [coverage.rows[coverage.roots[0]]]
        rows = coverage.children(coverage.roots[0])
    else:
        current = []
        rows = [coverage.rows[r] for r in coverage.roots]
    if not rows and len(current) == 1 and current[0].kind == "beat":
        rows = current  # a beat user: their beat's own row, with its route sheet
    trail = []
    if at:
        for root in coverage.roots:
            if Scope((root,)).covers(at):
                parts = at[len(root) :].split(".")[1:]
                path = root
                trail.append(coverage.rows[root])
                for part in parts:
                    path = f"{path}.{part}"
                    if path in coverage.rows and path != at:
                        trail.append(coverage.rows[path])
        trail = [row for row in trail if row.path != at]
    context = {
        "campaign": campaign,
        "coverage": coverage,
        "current": current,
        "rows": rows,
        "trail": trail,
        "today": timezone.localdate(),
    }
    return render(request, "fieldwork/campaign_detail.html", context)


@login_required
@require_GET
def campaign_beat(request: HttpRequest, pk: int, beat_id: int) -> HttpResponse:
    """The dwellings of one beat not yet visited in the campaign: the route sheet, printable."""
    user = current_user(request)
    campaign = selectors.campaign_get(user=user, pk=pk)
    beat = selectors.campaign_beat_get(user=user, campaign=campaign, pk=beat_id)
    dwellings = selectors.campaign_unvisited(user=user, campaign=campaign, beat=beat)
    context = {
        "campaign": campaign,
        "beat": beat,
        "dwellings": dwellings,
        "printed_at": timezone.localtime(),
        "may_log": services.may_log(user),
    }
    return render(request, "fieldwork/route_sheet.html", context)


# --- the installable app -----------------------------------------------------------------------


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    """The web app manifest: the visit form installs as an app on the phone's home screen."""
    data = {
        "name": _("Safe Community field work"),
        "short_name": _("Field work"),
        "start_url": reverse("fieldwork:visit_new"),
        "scope": reverse("fieldwork:index"),
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1d4e89",
        "icons": [
            {
                "src": static("safecommunity/fieldwork-icon.svg"),
                "sizes": "any",
                "type": "image/svg+xml",
                "purpose": "any",
            }
        ],
    }
    return HttpResponse(
        json.dumps(data, ensure_ascii=False), content_type="application/manifest+json"
    )


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, served from /fieldwork/ so that its scope covers the field-work
    pages (a worker only controls pages under the folder it is served from)."""
    shell = [
        reverse("fieldwork:visit_new"),
        static("safecommunity/app.css"),
        static("safecommunity/fieldwork.css"),
        static("safecommunity/fieldwork.js"),
        static("vendor/htmx/htmx.min.js"),
    ]
    # The cache is named for what it holds: new static files (new hashed names) make a new
    # worker with a new cache, and the old cache is dropped when it activates.
    version = hashlib.sha256("\n".join(shell).encode()).hexdigest()[:12]
    context = {"shell": shell, "offline_page": shell[0], "version": version}
    response = render(
        request, "fieldwork/sw.js", context, content_type="text/javascript; charset=utf-8"
    )
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = reverse("fieldwork:index")
    return response
