"""A dwelling's page in the housing registry (实有房屋): its use, who lives there now, and
when and how its residents were last verified; the beat team records the use by hand and
stamps the dwelling verified. Scope is the dwelling's: out of scope it does not exist."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from safecommunity.accounts.models import User
from safecommunity.accounts.views import current_user
from safecommunity.people import selectors, services
from safecommunity.people.forms import DERIVED_USE, DwellingUseForm, DwellingVerifyForm
from safecommunity.places.models import Dwelling


@login_required
@require_GET
def dwelling_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    dwelling = selectors.dwelling_get(user=user, pk=pk)
    return render(request, "people/dwelling.html", _context(user, dwelling))


@login_required
@require_POST
def dwelling_use(request: HttpRequest, pk: int) -> HttpResponse:
    user, dwelling = _editable(request, pk)
    form = DwellingUseForm(request.POST)
    if not form.is_valid():
        return render(
            request, "people/dwelling.html", _context(user, dwelling, use_form=form), status=400
        )
    use = form.cleaned_data["use"]
    services.dwelling_use_record(
        dwelling=dwelling, use=None if use == DERIVED_USE else use, actor=user, request=request
    )
    messages.success(request, _("The use of the dwelling is saved."))
    return redirect("people:dwelling", pk=dwelling.pk)


@login_required
@require_POST
def dwelling_verify(request: HttpRequest, pk: int) -> HttpResponse:
    user, dwelling = _editable(request, pk)
    form = DwellingVerifyForm(request.POST)
    if not form.is_valid():
        return render(
            request, "people/dwelling.html", _context(user, dwelling, verify_form=form), status=400
        )
    services.dwelling_verify(
        dwelling=dwelling,
        actor=user,
        method=form.cleaned_data["method"],
        note=form.cleaned_data["note"],
    )
    messages.success(request, _("The residents of the dwelling are stamped verified."))
    return redirect("people:dwelling", pk=dwelling.pk)


def _editable(request: HttpRequest, pk: int) -> tuple[User, Dwelling]:
    user = current_user(request)
    dwelling = selectors.dwelling_get(user=user, pk=pk)  # 404 out of scope, before 403
    if not selectors.may_edit_residents(user):
        raise PermissionDenied
    return user, dwelling


def _context(user: User, dwelling: Dwelling, **forms: Form) -> dict[str, Any]:
    editable = selectors.may_edit_residents(user)
    use_initial = {"use": dwelling.use if dwelling.use_recorded else DERIVED_USE}
    return {
        "dwelling": dwelling,
        "residences": list(selectors.dwelling_residents(dwelling=dwelling)),
        "verifications": selectors.dwelling_verifications(dwelling=dwelling),
        "use_form": forms.get("use_form")
        or (DwellingUseForm(initial=use_initial) if editable else None),
        "verify_form": forms.get("verify_form") or (DwellingVerifyForm() if editable else None),
    }
