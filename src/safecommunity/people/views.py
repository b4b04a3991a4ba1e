"""Registry pages: search and list, a resident's page (residences, care tags, unmasking,
moving in and out) and registering a new resident.

Reads go through ``people.selectors`` (scoped: a resident out of scope is a 404), writes
through ``people.services`` (which write the audit rows). ID and phone numbers are shown
masked; the plain value appears once, in the answer to the unmask form, and is never stored
in the session or a message.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from safecommunity.accounts.models import User
from safecommunity.accounts.privacy import shown_name
from safecommunity.accounts.views import current_user
from safecommunity.people import exports, selectors, services
from safecommunity.people.forms import (
    CareTagForm,
    CareTagRemoveForm,
    ExportForm,
    MoveOutForm,
    ResidenceFields,
    ResidentForm,
    SearchForm,
    UnmaskForm,
)
from safecommunity.people.models import Residence, Resident


def _add_errors(form: Form, exc: ValidationError) -> None:
    """Put a service's ``ValidationError`` on the form: per field where it names one the form
    has, otherwise as a form-wide error."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error.messages)
    else:
        form.add_error(None, exc.messages)


@login_required
@require_GET
def resident_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    form = SearchForm(request.GET, user=user)
    valid = form.is_valid()
    data = form.cleaned_data if valid else {}
    q = data.get("q") or ""
    registered: bool | None = data.get("registered")
    care_tag = data.get("care_tag") or None
    search = selectors.resident_search(
        user=user,
        q=q,
        page=request.GET.get("page"),
        registered=registered,
        care_tag=care_tag,
    )
    params = {
        "q": q,
        "registered": "" if registered is None else ("yes" if registered else "no"),
        "care_tag": care_tag or "",
    }
    query = urlencode({k: v for k, v in params.items() if v})
    context = {
        "form": form,
        "search": search,
        "page": search.page,
        "query": query,
        "may_create": selectors.may_edit_residents(user),
        "export_form": ExportForm(),
        "may_unmask": selectors.may_unmask(user),
    }
    return render(request, "people/list.html", context, status=200 if valid else 400)


@login_required
@require_http_methods(["GET", "POST"])
def resident_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The list as filtered on the page, scoped, as XLSX or CSV (``people.exports``).

    GET gives masked numbers. An unmasked export is a POST with a reason, for holders of
    ``people.unmask_resident`` only; ``export_residents`` writes the audit row either way.
    """
    user = current_user(request)
    source = request.POST if request.method == "POST" else request.GET
    search = SearchForm(source, user=user)
    options = ExportForm(source)
    if not (search.is_valid() and options.is_valid()):
        return HttpResponse(_("Malformed export request."), status=400, content_type="text/plain")
    reason = options.cleaned_data["reason"] if request.method == "POST" else ""
    if reason and not selectors.may_unmask(user):
        raise PermissionDenied
    residents = selectors.resident_filter(
        user=user,
        q=search.cleaned_data.get("q") or "",
        registered=search.cleaned_data.get("registered"),
        care_tag=search.cleaned_data.get("care_tag") or None,
    ).order_by("-pk")
    fmt: exports.ExportFormat = "csv" if options.cleaned_data["format"] == "csv" else "xlsx"
    chunks = exports.export_residents(
        user=user, queryset=residents, fmt=fmt, reason=reason or None, request=request
    )
    response = StreamingHttpResponse(chunks, content_type=exports.CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{exports.export_filename(fmt)}"'
    response["Cache-Control"] = "no-store"
    return response


def _detail_context(user: User, resident: Resident, **extra: Any) -> dict[str, Any]:
    prefetched: list[Residence] = getattr(resident, "current", [])
    current = prefetched[0] if prefetched else None
    may_edit = selectors.may_edit_residents(user)
    care_tags = selectors.resident_care_tags(user=user, resident=resident)
    context: dict[str, Any] = {
        "resident": resident,
        "current": current,
        "history": selectors.resident_history(resident=resident),
        "care_tags": care_tags,
        "may_edit": may_edit,
        "unmask_form": UnmaskForm() if selectors.may_unmask(user) else None,
        "move_in_form": ResidenceFields(user=user, prefix="in") if may_edit else None,
        "move_out_form": MoveOutForm(prefix="out") if may_edit and current else None,
        "care_tag_form": CareTagForm(prefix="tag") if may_edit and care_tags is not None else None,
        "dwelling_choices": list(selectors.dwelling_choices(user=user)) if may_edit else [],
    }
    context.update(extra)
    return context


@login_required
@require_GET
def resident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    resident = selectors.resident_get(user=user, pk=pk)
    return render(request, "people/detail.html", _detail_context(user, resident))


@login_required
@require_POST
@never_cache
def resident_unmask(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one ID or phone number in full, once, for a user with the permission who states a
    reason. The answer is not cached; the audit row says who, whom, why and when."""
    user = current_user(request)
    resident = selectors.resident_get(user=user, pk=pk)
    if not selectors.may_unmask(user):
        raise PermissionDenied
    form = UnmaskForm(request.POST)
    if not form.is_valid():
        context = _detail_context(user, resident, unmask_form=form)
        return render(request, "people/detail.html", context, status=400)
    field = form.cleaned_data["field"]
    try:
        value = services.resident_unmask(
            resident=resident,
            field=field,
            reason=form.cleaned_data["reason"],
            actor=user,
            request=request,
        )
    except PermissionError as exc:
        raise PermissionDenied from exc
    except ValidationError as exc:
        _add_errors(form, exc)
        context = _detail_context(user, resident, unmask_form=form)
        return render(request, "people/detail.html", context, status=400)
    label = dict(form.fields["field"].choices)[field]  # type: ignore[attr-defined]  # ChoiceField
    context = _detail_context(user, resident, unmasked={"label": label, "value": value or "—"})
    return render(request, "people/detail.html", context)


def _require_edit(user: User) -> None:
    if not selectors.may_edit_residents(user):
        raise PermissionDenied


@login_required
@require_POST
def residence_move_in(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    resident = selectors.resident_get(user=user, pk=pk)
    _require_edit(user)
    form = ResidenceFields(request.POST, user=user, prefix="in")
    if form.is_valid():
        try:
            services.residence_move_in(
                resident=resident,
                dwelling=form.cleaned_data["dwelling"],
                since=form.cleaned_data["since"],
                relation=form.cleaned_data["relation"],
                registered=form.cleaned_data["registered"],
                actor=user,
                request=request,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("The move-in is recorded."))
            return redirect("people:detail", pk=resident.pk)
    context = _detail_context(user, resident, move_in_form=form)
    return render(request, "people/detail.html", context, status=400)


@login_required
@require_POST
def residence_move_out(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    resident = selectors.resident_get(user=user, pk=pk)
    _require_edit(user)
    form = MoveOutForm(request.POST, prefix="out")
    if form.is_valid():
        try:
            services.residence_move_out(
                resident=resident, until=form.cleaned_data["until"], actor=user, request=request
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s has moved out and no longer lives in a dwelling of the registry.")
                % {"name": shown_name(user, resident.name)},
            )
            # Without a current dwelling the resident may be out of this user's scope now.
            if selectors.resident_list(user=user).filter(pk=resident.pk).exists():
                return redirect("people:detail", pk=resident.pk)
            return redirect("people:list")
    context = _detail_context(user, resident, move_out_form=form)
    return render(request, "people/detail.html", context, status=400)


def _care_tag_resident(request: HttpRequest, pk: int) -> tuple[User, Resident]:
    user = current_user(request)
    resident = selectors.resident_get(user=user, pk=pk)
    if not (selectors.may_see_care_tags(user) and selectors.may_edit_residents(user)):
        raise PermissionDenied
    return user, resident


@login_required
@require_POST
def care_tag_add(request: HttpRequest, pk: int) -> HttpResponse:
    user, resident = _care_tag_resident(request, pk)
    form = CareTagForm(request.POST, prefix="tag")
    if form.is_valid():
        services.care_tag_add(
            resident=resident,
            kind=form.cleaned_data["kind"],
            notes=form.cleaned_data["notes"],
            actor=user,
        )
        messages.success(request, _("The care tag is saved."))
        return redirect("people:detail", pk=resident.pk)
    context = _detail_context(user, resident, care_tag_form=form)
    return render(request, "people/detail.html", context, status=400)


@login_required
@require_POST
def care_tag_remove(request: HttpRequest, pk: int) -> HttpResponse:
    user, resident = _care_tag_resident(request, pk)
    form = CareTagRemoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Unknown care tag."))
    else:
        services.care_tag_remove(resident=resident, kind=form.cleaned_data["kind"], actor=user)
        messages.success(request, _("The care tag is removed."))
    return redirect("people:detail", pk=resident.pk)


@login_required
@require_http_methods(["GET", "POST"])
def resident_create(request: HttpRequest) -> HttpResponse:
    """Register a resident. Possible duplicates in the user's scope are shown first and the
    user must confirm this is a different person; the same ID number twice is refused."""
    user = current_user(request)
    _require_edit(user)
    form = ResidentForm(request.POST or None, user=user)
    candidates: list[Resident] = []
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                checked = services.resident_input(
                    name=data["name"],
                    gender=data["gender"] or None,
                    birth_date=data["birth_date"],
                    id_number=data["id_number"],
                    phone=data["phone"],
                    ethnicity=data["ethnicity"],
                    notes=data["notes"],
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                candidates = selectors.residents_visible(
                    user=user, residents=services.resident_possible_duplicates(checked)
                )
                same_id = selectors.candidate_with_id(checked, candidates)
                if same_id is not None and same_id.path:
                    form.add_error(
                        "id_number", _("A resident with this ID number is already registered.")
                    )
                elif candidates and same_id is None and not data["confirm_new_person"]:
                    status = 409
                else:
                    try:
                        registration = services.resident_register(
                            data=checked,
                            actor=user,
                            dwelling=data["dwelling"],
                            since=data["since"],
                            relation=data["relation"],
                            registered=data["registered"],
                            request=request,
                        )
                    except ValidationError as exc:
                        _add_errors(form, exc)
                    else:
                        messages.success(
                            request,
                            _(
                                "This person was already in the registry without a current "
                                "address; their record is now registered at this dwelling."
                            )
                            if registration.reregistered
                            else _("The resident is registered."),
                        )
                        return redirect("people:detail", pk=registration.resident.pk)
    context = {
        "form": form,
        "candidates": candidates,
        "confirm_needed": status == 409,
        "dwelling_choices": _dwelling_choices(user, form),
    }
    return render(request, "people/create.html", context, status=status)


def _dwelling_choices(user: User, form: ResidentForm) -> list[Any]:
    """The dwelling select's first options: the one chosen (if still valid) and the first
    dwellings in scope; the search box above replaces them through ``dwelling_options``."""
    choices = list(selectors.dwelling_choices(user=user))
    chosen = form.cleaned_data.get("dwelling") if hasattr(form, "cleaned_data") else None
    if chosen is not None and chosen not in choices:
        choices.insert(0, chosen)
    return choices


@login_required
@require_GET
def dwelling_options(request: HttpRequest) -> HttpResponse:
    """The htmx fragment of ``<option>``s for dwellings in scope whose address contains ``q``."""
    user = current_user(request)
    q = request.GET.get("q", "")
    context = {"dwellings": selectors.dwelling_choices(user=user, q=q), "q": q}
    return render(request, "people/_dwelling_options.html", context)
