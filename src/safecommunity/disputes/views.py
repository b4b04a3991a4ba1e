"""Dispute pages: the list with its filters, a dispute with its history and sessions, the
intake form, transitions, sessions and the statistics. Reads go through the selectors (scope),
writes through the services (rules, events, audit)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from safecommunity.accounts.models import User
from safecommunity.accounts.privacy import may_see_names
from safecommunity.accounts.views import current_user
from safecommunity.disputes import selectors, services, workflow
from safecommunity.disputes.forms import (
    DisputeFilterForm,
    DisputeReportForm,
    SessionForm,
    StatisticsForm,
    TransitionForm,
    yes_no,
)
from safecommunity.disputes.models import Dispute, DisputeState
from safecommunity.disputes.privacy import shown_names, shown_party, shown_text

PER_PAGE = 50


def _errors(exc: ValidationError | PermissionDenied) -> list[str]:
    if isinstance(exc, ValidationError):
        return [str(m) for m in exc.messages]
    return [str(exc) or _("You may not do this.")]


@login_required
@require_GET
def dispute_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    form = DisputeFilterForm(request.GET)
    valid = form.is_valid()
    data: dict[str, str] = form.cleaned_data if valid else {}
    disputes = selectors.dispute_list(
        user=user,
        state=data.get("state") or None,
        category=data.get("category") or None,
        overdue=yes_no(data.get("overdue", "")),
        escalated=yes_no(data.get("escalated", "")),
        repeat=yes_no(data.get("repeat", "")),
    )
    page = Paginator(disputes, PER_PAGE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in data.items() if v})
    context = {
        "form": form,
        "page": page,
        "query": query,
        "may_report": user.role in workflow.REPORT_ROLES,
    }
    return render(request, "disputes/list.html", context, status=200 if valid else 400)


def _detail_context(user: User, dispute: Dispute, **extra: Any) -> dict[str, Any]:
    states = workflow.allowed_for(user.role, dispute.state)
    sessions = selectors.dispute_sessions(dispute=dispute)
    context: dict[str, Any] = {
        "dispute": dispute,
        "repeat_of_id": selectors.shown_repeat_of_id(user=user, dispute=dispute),
        "parties": [shown_party(user, p) for p in selectors.dispute_parties(dispute=dispute)],
        "sessions": [
            (
                s,
                shown_names(user, s.mediators),
                shown_names(user, s.participants),
                shown_text(user, s.notes),
                shown_text(user, s.agreement),
            )
            for s in sessions
        ],
        "texts_withheld": not may_see_names(user),
        "events": [
            (e, shown_names(user, e.actor_name)) for e in selectors.dispute_history(dispute=dispute)
        ],
        "transition_form": TransitionForm(states=states) if states else None,
        "session_form": (
            SessionForm()
            if dispute.state == DisputeState.MEDIATING and user.role in workflow.MEDIATORS
            else None
        ),
        "errors": [],
    }
    context.update(extra)
    return context


@login_required
@require_GET
def dispute_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    dispute = selectors.dispute_get(user=user, pk=pk)
    return render(request, "disputes/detail.html", _detail_context(user, dispute))


@login_required
@require_POST
def dispute_transition(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    dispute = selectors.dispute_get(user=user, pk=pk)
    form = TransitionForm(request.POST)
    status = 400
    errors: list[str] = []
    if form.is_valid():
        try:
            services.dispute_transition(
                actor=user,
                dispute=dispute,
                to_state=form.cleaned_data["to_state"],
                note=form.cleaned_data["note"],
                referred_to=form.cleaned_data["referred_to"],
            )
        except ValidationError as exc:
            errors = _errors(exc)
        except PermissionDenied as exc:
            errors, status = _errors(exc), 403
        else:
            messages.success(request, _("The dispute has moved on."))
            return HttpResponseRedirect(reverse("disputes:detail", args=[dispute.pk]))
    else:
        errors = [
            f"{form[name].label}: {' '.join(str(m) for m in e)}" for name, e in form.errors.items()
        ]
    dispute = selectors.dispute_get(user=user, pk=pk)
    context = _detail_context(user, dispute, errors=errors)
    return render(request, "disputes/detail.html", context, status=status)


@login_required
@require_POST
def session_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    dispute = selectors.dispute_get(user=user, pk=pk)
    form = SessionForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.mediation_session_add(actor=user, dispute=dispute, **form.cleaned_data)
        except ValidationError as exc:
            for message in _errors(exc):
                form.add_error(None, message)
        except PermissionDenied as exc:
            form.add_error(None, _errors(exc)[0])
            status = 403
        else:
            messages.success(request, _("The mediation session is recorded."))
            return HttpResponseRedirect(reverse("disputes:detail", args=[dispute.pk]))
    context = _detail_context(user, dispute, session_form=form)
    return render(request, "disputes/detail.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def dispute_report(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    if user.role not in workflow.REPORT_ROLES:
        raise PermissionDenied
    form = DisputeReportForm(request.POST or None, beats=selectors.report_beats(user=user))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            dispute = _report(user, form)
            if dispute is not None:
                messages.success(request, _("The dispute is reported."))
                return HttpResponseRedirect(reverse("disputes:detail", args=[dispute.pk]))
    return render(request, "disputes/report.html", {"form": form}, status=status)


def _report(user: User, form: DisputeReportForm) -> Dispute | None:
    """Resolve the form's numbers to records in scope and report; errors go on the form."""
    data = form.cleaned_data
    ids = [data[f"party{n}_resident"] for n in range(1, form.PARTY_COUNT + 1)]
    residents = selectors.report_residents(user=user, ids=[i for i in ids if i])
    parties = []
    for n in range(1, form.PARTY_COUNT + 1):
        resident_id, name = data[f"party{n}_resident"], data[f"party{n}_name"].strip()
        if resident_id and resident_id not in residents:
            form.add_error(
                f"party{n}_resident", _("No resident with this number in your jurisdiction.")
            )
            continue
        if not resident_id and not name:
            continue
        party: dict[str, Any] = {"role": data[f"party{n}_role"]}
        if resident_id:
            party["resident"] = residents[resident_id]
        else:
            party["name"], party["phone"] = name, data[f"party{n}_phone"]
        parties.append(party)
    dwelling = None
    if data["dwelling"]:
        dwelling = selectors.report_dwelling(user=user, pk=data["dwelling"])
        if dwelling is None:
            form.add_error("dwelling", _("No dwelling with this number in your jurisdiction."))
    if form.errors:
        return None
    try:
        return services.dispute_report(
            actor=user,
            beat=data["beat"],
            dwelling=dwelling,
            place=data["place"],
            source=data["source"],
            category=data["category"],
            risk=data["risk"],
            may_turn_violent=data["may_turn_violent"],
            description=data["description"],
            parties=parties,
        )
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                target = field if field in form.fields else None
                for message in errors:
                    form.add_error(target, message)
        else:
            for message in exc.messages:
                form.add_error(None, message)
    except PermissionDenied as exc:
        form.add_error(None, _errors(exc)[0])
    return None


@login_required
@require_GET
def statistics(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    form = StatisticsForm(request.GET)
    valid = form.is_valid()
    since = form.cleaned_data.get("since") if valid else None
    stats = selectors.dispute_statistics(user=user, since=since)
    peak = max((m.reported for m in stats.by_month), default=0)
    chart = {
        "months": [f"{m.month:%Y-%m}" for m in stats.by_month],
        "reported": [m.reported for m in stats.by_month],
        "settled": [m.settled for m in stats.by_month],
        "labels": {"reported": _("Reported"), "settled": _("Settled")},
    }
    context = {
        "form": form,
        "stats": stats,
        "chart": chart,
        "peak": peak or 1,
        "category_peak": max((n for _v, _l, n in stats.by_category), default=0) or 1,
    }
    return render(request, "disputes/statistics.html", context, status=200 if valid else 400)
