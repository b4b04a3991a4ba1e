"""Staff pages: the requests of the user's jurisdiction, one request with its history, and the
forms that assign, move and re-inspect it. Reads go through ``selectors`` (out of scope is a
404), writes through ``services``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from safecommunity.accounts.privacy import may_see_names
from safecommunity.accounts.views import current_user
from safecommunity.service_requests import selectors, services
from safecommunity.service_requests.forms import (
    AssignForm,
    ReinspectionForm,
    RequestFilterForm,
    TransitionForm,
)
from safecommunity.service_requests.models import ServiceRequest, Status
from safecommunity.service_requests.workflow import OFFICERS, transition_for, transitions_from

PER_PAGE = 50


@login_required
@require_GET
def request_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    services_ = list(selectors.service_list())
    form = RequestFilterForm(request.GET or None, services=services_)
    filters = selectors.RequestFilter()
    if form.is_valid():
        data = form.cleaned_data
        filters = selectors.RequestFilter(
            status=data["status"],
            service=data["service"],
            overdue=data["overdue"],
            mine=data["mine"],
        )
    now = timezone.now()
    rows = selectors.request_list(user=user, filters=filters, now=now)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": [(r, selectors.is_overdue(r, now)) for r in page.object_list],
        "query": query.urlencode(),
    }
    return render(
        request,
        "service_requests/list.html",
        context,
        status=200 if not form.is_bound or form.is_valid() else 400,
    )


def _detail_context(request: HttpRequest, row: ServiceRequest, **forms: Any) -> dict[str, Any]:
    user = current_user(request)
    done = transition_for(Status.IN_PROGRESS, Status.DONE)
    reinspectable = (
        row.service.needs_reinspection
        and row.status == Status.IN_PROGRESS
        and done is not None
        and user.role in done.roles
    )
    return {
        "req": row,
        "events": list(selectors.request_events(row)),
        "answers": selectors.attribute_rows(row),
        "team": selectors.request_team(row) if user.role in OFFICERS else [],
        "may_assign": user.role in OFFICERS
        and row.status in (Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS),
        "moves": [
            m
            for m in transitions_from(row.status, user.role)
            if not (m.target == Status.DONE and row.service.needs_reinspection)
        ],
        "reinspectable": reinspectable,
        "names": may_see_names(user),
        "overdue": selectors.is_overdue(row),
        "assign_form": forms.get("assign_form") or AssignForm(),
        "transition_form": forms.get("transition_form") or TransitionForm(),
        "reinspection_form": forms.get("reinspection_form")
        or ReinspectionForm(initial={"on": timezone.localdate()}),
        "error": forms.get("error"),
    }


@login_required
@require_GET
def request_detail(request: HttpRequest, service_request_id: str) -> HttpResponse:
    user = current_user(request)
    row = selectors.request_get(user=user, service_request_id=service_request_id)
    return render(request, "service_requests/detail.html", _detail_context(request, row))


def _refused(request: HttpRequest, row: ServiceRequest, message: str, **forms: Any) -> HttpResponse:
    context = _detail_context(request, row, error=message, **forms)
    return render(request, "service_requests/detail.html", context, status=400)


def _errors(form: Any) -> str:
    return "; ".join(
        f"{form.fields[f].label if f in form.fields else ''}: {' '.join(e)}".lstrip(": ")
        for f, e in form.errors.items()
    )


@login_required
@require_POST
def request_assign(request: HttpRequest, service_request_id: str) -> HttpResponse:
    user = current_user(request)
    row = selectors.request_get(user=user, service_request_id=service_request_id)
    form = AssignForm(request.POST)
    if not form.is_valid():
        return _refused(request, row, _errors(form), assign_form=form)
    team = {s.pk: s for s in selectors.request_team(row)}
    assignee = team.get(form.cleaned_data["assignee"])
    if assignee is None:
        return _refused(request, row, _("Choose a member of this beat's team."), assign_form=form)
    try:
        services.request_assign(
            request=row, actor=user, assignee=assignee, note=form.cleaned_data["note"]
        )
    except ValidationError as exc:
        return _refused(request, row, " ".join(exc.messages), assign_form=form)
    messages.success(request, _("Assigned to %(name)s.") % {"name": assignee.name})
    return redirect("service_requests:detail", service_request_id=row.service_request_id)


@login_required
@require_POST
def request_transition(request: HttpRequest, service_request_id: str) -> HttpResponse:
    user = current_user(request)
    row = selectors.request_get(user=user, service_request_id=service_request_id)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        return _refused(request, row, _errors(form), transition_form=form)
    try:
        moved = services.request_transition(
            request=row, actor=user, to=form.cleaned_data["to"], note=form.cleaned_data["note"]
        )
    except ValidationError as exc:
        return _refused(request, row, " ".join(exc.messages), transition_form=form)
    messages.success(
        request, _("The request is now %(status)s.") % {"status": moved.get_status_display()}
    )
    return redirect("service_requests:detail", service_request_id=row.service_request_id)


@login_required
@require_POST
def request_reinspect(request: HttpRequest, service_request_id: str) -> HttpResponse:
    user = current_user(request)
    row = selectors.request_get(user=user, service_request_id=service_request_id)
    form = ReinspectionForm(request.POST)
    if not form.is_valid():
        return _refused(request, row, _errors(form), reinspection_form=form)
    data = form.cleaned_data
    try:
        services.request_reinspect(
            request=row,
            actor=user,
            on=data["on"],
            result=data["result"],
            note=data["note"],
            new_deadline=data["new_deadline"],
        )
    except ValidationError as exc:
        return _refused(request, row, " ".join(exc.messages), reinspection_form=form)
    messages.success(request, _("The re-inspection is recorded."))
    return redirect("service_requests:detail", service_request_id=row.service_request_id)
