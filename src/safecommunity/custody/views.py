"""Custody register pages: the list, an item with its trail, intake and the four moves.

Reads go through ``custody.selectors`` (scoped: an item out of scope is a 404), writes
through ``custody.services``; a refused write shows the form again with the service's
message beside the field it names (400), never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from safecommunity.accounts.models import User
from safecommunity.accounts.privacy import may_see_names
from safecommunity.accounts.views import current_user
from safecommunity.custody import selectors, services
from safecommunity.custody.forms import (
    CheckForm,
    DisposeForm,
    FilterForm,
    ReceiveForm,
    ReturnForm,
    TransferForm,
)
from safecommunity.custody.models import CustodyItem, MovementAction
from safecommunity.custody.states import allowed_actions

ITEMS_PER_PAGE = 50


def _add_errors(form: Form, exc: ValidationError) -> None:
    """A service's ``ValidationError`` on the form: per field where the form has it."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error.messages)
    else:
        form.add_error(None, exc.messages)


def _keeper(request: HttpRequest) -> User:
    user = current_user(request)
    if not selectors.may_keep_custody(user):
        raise PermissionDenied
    return user


@login_required
@require_GET
def item_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    form = FilterForm(request.GET, names=may_see_names(user))
    valid = form.is_valid()
    data = form.cleaned_data if valid else {}
    # Without a filter the list opens on what the office holds now.
    state = data.get("state", "held") if "state" in request.GET else "held"
    items = selectors.item_filter(
        user=user, state=state or None, kind=data.get("kind") or None, q=data.get("q") or ""
    )
    page = Paginator(items, ITEMS_PER_PAGE).get_page(request.GET.get("page"))
    query = urlencode({"state": state, "kind": data.get("kind") or "", "q": data.get("q") or ""})
    context = {
        "form": form,
        "state": state,
        "page": page,
        "query": query,
        "counts": selectors.state_counts(user=user),
        "may_keep": selectors.may_keep_custody(user),
    }
    return render(request, "custody/list.html", context, status=200 if valid else 400)


def _detail(
    request: HttpRequest, user: User, item: CustodyItem, *, status: int = 200, **forms: Any
) -> HttpResponse:
    may_keep = selectors.may_keep_custody(user)
    actions = allowed_actions(item.state) if may_keep else []
    beats = selectors.custody_beats(user=user).exclude(pk=item.beat_id)
    context: dict[str, Any] = {
        "item": item,
        "movements": selectors.item_movements(item=item),
        "may_keep": may_keep,
        "return_form": (
            forms.get("return_form") or ReturnForm(prefix="return")
            if MovementAction.RETURNED in actions
            else None
        ),
        "transfer_form": (
            forms.get("transfer_form") or TransferForm(prefix="transfer", beats=beats)
            if MovementAction.HANDED_OVER in actions
            else None
        ),
        "dispose_form": (
            forms.get("dispose_form") or DisposeForm(prefix="dispose")
            if MovementAction.DISPOSED in actions
            else None
        ),
        "check_form": (
            forms.get("check_form") or CheckForm(prefix="check")
            if MovementAction.CHECKED in actions
            else None
        ),
        "refused": forms.get("refused"),
    }
    return render(request, "custody/detail.html", context, status=status)


@login_required
@require_GET
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    return _detail(request, user, selectors.item_get(user=user, pk=pk))


@login_required
@require_http_methods(["GET", "POST"])
def item_receive(request: HttpRequest) -> HttpResponse:
    user = _keeper(request)
    beats = selectors.custody_beats(user=user).order_by("path")
    owner = None
    owner_id = (request.POST.get("owner") or request.GET.get("owner") or "").strip()
    # ASCII digits only: "²".isdigit() is True, but int("²") fails.
    if owner_id.isascii() and owner_id.isdigit() and len(owner_id) <= len(str(selectors.MAX_ID)):
        owner = selectors.owner_find(user=user, pk=int(owner_id))
    # The owner's own beat, or the user's only one, is the likely choice.
    initial = beats.filter(path=owner.path).first() if owner is not None else None
    if initial is None:
        only = list(beats[:2])
        initial = only[0] if len(only) == 1 else None
    form = ReceiveForm(request.POST or None, beats=beats, initial={"beat": initial})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            if data["owner"] and owner is None:
                form.add_error(None, _("Unknown resident."))
            else:
                try:
                    item = services.custody_receive(
                        actor=user,
                        beat=data["beat"],
                        kind=data["kind"],
                        description=data["description"],
                        tag=data["tag"],
                        owner=owner,
                        owner_name=data["owner_name"],
                        owner_phone=data["owner_phone"],
                        received_at=data["received_at"],
                        note=data["note"],
                        request=request,
                    )
                except ValidationError as exc:
                    _add_errors(form, exc)
                else:
                    messages.success(
                        request, _("Item %(tag)s taken into custody.") % {"tag": item.tag}
                    )
                    return redirect("custody:detail", pk=item.pk)
    context = {"form": form, "owner": owner, "has_beats": beats.exists()}
    return render(request, "custody/receive.html", context, status=status)


@login_required
@require_GET
def owner_options(request: HttpRequest) -> HttpResponse:
    """Registry residents matching the search box, as a list to pick the owner from (htmx)."""
    user = _keeper(request)
    residents = selectors.owner_choices(user=user, q=request.GET.get("q", ""))
    return render(request, "custody/_owner_options.html", {"residents": residents})


def _move(
    request: HttpRequest,
    pk: int,
    form_class: type[Form],
    form_name: str,
    prefix: str,
    run: Callable[..., None],
    done: str,
    **form_kwargs: Any,
) -> HttpResponse:
    user = _keeper(request)
    item = selectors.item_get(user=user, pk=pk)
    if form_class is TransferForm:
        form_kwargs["beats"] = selectors.custody_beats(user=user).exclude(pk=item.beat_id)
    form = form_class(request.POST, prefix=prefix, **form_kwargs)
    if form.is_valid():
        try:
            run(user=user, item=item, data=form.cleaned_data)
        except ValidationError as exc:
            if getattr(exc, "code", None) == "unknown":
                # Moved out of scope while we were at it: now it is unknown here.
                raise Http404 from exc
            if getattr(exc, "code", None) == "transition":
                # The state moved under us (returned twice): say so above the forms.
                item = selectors.item_get(user=user, pk=pk)
                return _detail(request, user, item, status=400, refused=exc.messages[0])
            _add_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect("custody:detail", pk=item.pk)
    return _detail(request, user, item, status=400, **{form_name: form})


@login_required
@require_POST
def item_return(request: HttpRequest, pk: int) -> HttpResponse:
    def run(*, user: User, item: CustodyItem, data: dict[str, Any]) -> None:
        services.custody_return(
            actor=user,
            item=item,
            returned_to=data["returned_to"],
            identity_check=data["identity_check"],
            at=data["at"],
            note=data["note"],
            request=request,
        )

    return _move(request, pk, ReturnForm, "return_form", "return", run, _("Item returned."))


@login_required
@require_POST
def item_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    def run(*, user: User, item: CustodyItem, data: dict[str, Any]) -> None:
        services.custody_transfer(
            actor=user,
            item=item,
            beat=data["beat"],
            tag=data["tag"],
            note=data["note"],
            request=request,
        )

    return _move(
        request, pk, TransferForm, "transfer_form", "transfer", run, _("Item handed over.")
    )


@login_required
@require_POST
def item_dispose(request: HttpRequest, pk: int) -> HttpResponse:
    def run(*, user: User, item: CustodyItem, data: dict[str, Any]) -> None:
        services.custody_dispose(actor=user, item=item, reason=data["reason"], request=request)

    return _move(request, pk, DisposeForm, "dispose_form", "dispose", run, _("Item disposed of."))


@login_required
@require_POST
def item_check(request: HttpRequest, pk: int) -> HttpResponse:
    def run(*, user: User, item: CustodyItem, data: dict[str, Any]) -> None:
        services.custody_check(actor=user, item=item, note=data["note"], request=request)

    return _move(request, pk, CheckForm, "check_form", "check", run, _("Check recorded."))
