"""Screening pages: risk lists and their upload, runs with their progress, the review of a
run's matches, the verification tasks they become, and the merge candidates of a
deduplication run.

Reads go through ``screening.selectors`` (scoped: a list, run, match or task out of scope is
a 404 like an unknown one), writes through ``screening.services``. Who may do what is the
selectors' ``may_screen`` / ``may_review`` / ``may_work_tasks`` / ``may_merge``: anyone else
gets 403. A write the service refuses (``ScreeningError``), or one whose object went away in
between (a pair merged by someone else), is shown as a message, never a 500.

A run's results are shown, decided on, exported and merged only once it is done
(``selectors.results_refusal``): until then the review pages send the user to the run's page,
which follows its progress. Opening a review page writes an audit entry
(``selectors.results_read_audit``), as the export does.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from safecommunity.accounts.models import User
from safecommunity.accounts.views import current_user
from safecommunity.screening import selectors, services
from safecommunity.screening.forms import (
    DedupForm,
    MergeForm,
    ReviewFilterForm,
    ReviewForm,
    RiskListUploadForm,
    ScreenForm,
    TaskDoneForm,
    TaskFilterForm,
)
from safecommunity.screening.models import (
    ListStatus,
    Match,
    RiskList,
    RunKind,
    RunStatus,
    ScreeningRun,
    TaskStatus,
    VerificationTask,
)
from safecommunity.screening.services import ScreeningError

HOME_ROWS = 20
RECORDS_PER_PAGE = 20
PAIRS_PER_PAGE = 20
TASKS_PER_PAGE = 50
# The list page shows the first problems of its file; the CSV has them all.
ISSUES_SHOWN = 20
# The explanation bars: a field's weight in bits drawn as a share of this (clipped).
BAR_FULL_BITS = 20.0


def _screener(request: HttpRequest) -> User:
    user = current_user(request)
    if not selectors.may_screen(user):
        raise PermissionDenied
    return user


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    """Back to the page the form was on (``next``, this site only), else ``fallback``."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(fallback)


# In the engine's field order; translated when rendered.
FIELD_LABELS = {
    "id": gettext_lazy("ID number"),
    "phone": gettext_lazy("Phone"),
    "name": gettext_lazy("Full name"),
    "birth": gettext_lazy("Date of birth"),
    "gender": gettext_lazy("Gender"),
    "address": gettext_lazy("Address"),
}
# The engine's comparison levels (``engine.model.LEVELS``, and "missing"); a level not
# listed is shown as the engine names it.
LEVEL_LABELS = {
    "exact": gettext_lazy("exact"),
    "repaired": gettext_lazy("repaired (one digit or two swapped)"),
    "near": gettext_lazy("one digit off or two swapped"),
    "homophone": gettext_lazy("homophone"),
    "similar": gettext_lazy("similar"),
    "one character": gettext_lazy("one character differs"),
    "surname": gettext_lazy("surname only"),
    "swapped": gettext_lazy("day and month swapped"),
    "one digit": gettext_lazy("one digit differs"),
    "agree": gettext_lazy("agrees"),
    "same compound": gettext_lazy("same compound"),
    "different": gettext_lazy("different"),
    "missing": gettext_lazy("missing"),
}


def _explanation(match: Match) -> list[dict[str, Any]]:
    """The match's per-field explanation as rows for the bars: field, level, weight (bits),
    the bar's width in per cent and whether the field agreed (weight > 0), disagreed (< 0)
    or said nothing (0, e.g. missing on one side)."""
    rows = []
    raw = match.explanation if isinstance(match.explanation, dict) else {}
    for field, label in FIELD_LABELS.items():
        value = raw.get(field)
        if not isinstance(value, list | tuple) or len(value) != 2:
            continue
        level, weight = value
        try:
            bits = float(weight)
        except (TypeError, ValueError):
            continue
        rows.append(
            {
                "field": field,
                "label": label,
                "level": str(level),
                "level_label": LEVEL_LABELS.get(str(level), str(level)),
                "bits": bits,
                "width": round(min(abs(bits), BAR_FULL_BITS) / BAR_FULL_BITS * 100),
                "side": "agree" if bits > 0 else "disagree" if bits < 0 else "none",
            }
        )
    return rows


def _with_explanations(matches: list[Match]) -> list[Match]:
    for match in matches:
        match.bars = _explanation(match)  # type: ignore[attr-defined]  # for the template
    return matches


# --- home --------------------------------------------------------------------------------------


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    lists = selectors.risk_lists(user=user)
    runs = selectors.runs(user=user)
    context = {
        "risk_lists": list(lists[:HOME_ROWS]),
        "lists_count": lists.count(),
        "runs": list(runs[:HOME_ROWS]),
        "runs_count": runs.count(),
        "open_tasks": selectors.tasks(user=user, status=TaskStatus.OPEN).count(),
        "may_screen": selectors.may_screen(user),
    }
    return render(request, "screening/home.html", context)


# --- risk lists --------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def list_upload(request: HttpRequest) -> HttpResponse:
    """Store the upload and queue its import for the worker; the list's page follows the
    import. A file the worker cannot read becomes a failed list saying why."""
    user = _screener(request)
    form = RiskListUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            risk_list = services.risk_list_enqueue(
                actor=user,
                upload=form.cleaned_data["file"],
                name=form.cleaned_data["name"],
                purpose=form.cleaned_data["purpose"],
            )
        except ScreeningError as exc:
            form.add_error(None, str(exc))
        else:
            messages.info(
                request,
                _(
                    "The list was uploaded and is imported in the background; this page "
                    "shows the progress."
                ),
            )
            return redirect("screening:list", pk=risk_list.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "screening/list_upload.html", {"form": form}, status=status)


# The issues file's levels (``screening.imports.Level``).
ISSUE_LEVELS = {
    "warning": gettext_lazy("row kept without this value"),
    "duplicate": gettext_lazy("duplicate row, stored once"),
    "rejected": gettext_lazy("row not kept"),
}


def _issues(risk_list: RiskList, limit: int = ISSUES_SHOWN) -> list[dict[str, Any]]:
    """The first problems of the list's issues file (line, column, masked value, level,
    reason)."""
    path = Path(risk_list.issues_file) if risk_list.issues_file else None
    if path is None or not path.is_file():
        return []
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if len(rows) >= limit:
                break
            level = row.get("level") or ""
            rows.append(
                {
                    "line": row.get("line") or "",
                    "column": row.get("column") or "",
                    "value": row.get("value") or "",
                    "level": level,
                    "level_label": ISSUE_LEVELS.get(level, level),
                    "reason": row.get("reason") or "",
                }
            )
    return rows


def list_percent(risk_list: RiskList) -> int:
    if risk_list.status == ListStatus.DONE:
        return 100
    if risk_list.progress_total <= 0:
        return 0
    return max(0, min(100, risk_list.progress_done * 100 // risk_list.progress_total))


def _list_page(
    request: HttpRequest, user: User, risk_list: RiskList, form: ScreenForm | None = None
) -> HttpResponse:
    """The list page; an htmx request gets only the progress fragment, which polls itself
    until the import has finished (then the whole page is reloaded for its counts), as the
    run page does."""
    finished = risk_list.status in (ListStatus.DONE, ListStatus.FAILED)
    done = risk_list.status == ListStatus.DONE
    context: dict[str, Any] = {
        "risk_list": risk_list,
        "finished": finished,
        "percent": list_percent(risk_list),
    }
    if request.headers.get("HX-Request"):
        response = render(request, "screening/_list_progress.html", context)
        if finished:
            # The counts, issues and the screen form are on the full page: have htmx load it.
            response["HX-Refresh"] = "true"
        return response
    may_screen = selectors.may_screen(user)
    # Counts and issues of a list still importing (or failed) would be partial, or stale.
    has_issues_file = done and bool(risk_list.issues_file) and Path(risk_list.issues_file).is_file()
    context.update(
        {
            "done": done,
            "summary": services.risk_list_summary(risk_list) if done else "",
            "issues": _issues(risk_list) if done else [],
            "has_issues_file": has_issues_file,
            "runs": list(selectors.runs(user=user).filter(risk_list=risk_list)[:20]),
            "may_screen": may_screen,
            "form": form
            or (ScreenForm(initial={"purpose": risk_list.purpose}) if may_screen else None),
        }
    )
    status = 400 if form is not None and form.errors else 200
    return render(request, "screening/list_detail.html", context, status=status)


@login_required
@require_GET
def list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    return _list_page(request, user, selectors.risk_list_get(user=user, pk=pk))


@login_required
@require_GET
def list_issues(request: HttpRequest, pk: int) -> FileResponse:
    risk_list = selectors.risk_list_get(user=current_user(request), pk=pk)
    path = Path(risk_list.issues_file) if risk_list.issues_file else None
    if path is None or not path.is_file():
        raise Http404
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"{Path(risk_list.file_name).stem or 'risk-list'}.issues.csv",
        content_type="text/csv; charset=utf-8",
    )


@login_required
@require_POST
def list_screen(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    risk_list = selectors.risk_list_get(user=user, pk=pk)
    if not selectors.may_screen(user):
        raise PermissionDenied
    form = ScreenForm(request.POST)
    if form.is_valid():
        try:
            run = services.run_enqueue(
                actor=user, risk_list=risk_list, purpose=form.cleaned_data["purpose"]
            )
        except ScreeningError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("screening:run", pk=run.pk)
    return _list_page(request, user, risk_list, form)


# --- runs --------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def dedup_start(request: HttpRequest) -> HttpResponse:
    user = _screener(request)
    form = DedupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = services.dedup_enqueue(actor=user, purpose=form.cleaned_data["purpose"])
        except ScreeningError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("screening:run", pk=run.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "screening/dedup_start.html", {"form": form}, status=status)


# The stages a run reports (``screening.tasks`` and the engine's progress hook); a stage not
# listed is shown as named.
STAGE_LABELS = {
    "index": gettext_lazy("updating the screening index"),
    "screening": gettext_lazy("screening the risk list"),
    "deduplication": gettext_lazy("looking for duplicates"),
    "prepare": gettext_lazy("reading the risk list"),
    "block": gettext_lazy("finding candidates"),
    "compare": gettext_lazy("comparing candidates"),
    "done": gettext_lazy("finishing"),
}


def run_percent(run: ScreeningRun) -> int:
    if run.status == RunStatus.DONE:
        return 100
    if run.progress_total <= 0:
        return 0
    return max(0, min(100, run.progress_done * 100 // run.progress_total))


@login_required
@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The run page; an htmx request gets only the progress fragment, which polls itself
    until the run has finished (then the whole page is reloaded for its results)."""
    user = current_user(request)
    run = selectors.run_get(user=user, pk=pk)
    finished = run.status in (RunStatus.DONE, RunStatus.FAILED)
    context = {
        "run": run,
        "percent": run_percent(run),
        "stage_label": STAGE_LABELS.get(run.stage, run.stage),
        "finished": finished,
        "is_screening": run.kind == RunKind.SCREENING,
        "may_review": selectors.may_review(user),
    }
    if request.headers.get("HX-Request"):
        response = render(request, "screening/_run_progress.html", context)
        if finished:
            # The results (counts, links) are on the full page: have htmx load it.
            response["HX-Refresh"] = "true"
        return response
    return render(request, "screening/run_detail.html", context)


def _unfinished(request: HttpRequest, run: ScreeningRun) -> HttpResponse | None:
    """Back to the run's page, saying why, when ``run`` has no results to work on yet (or
    never will: a failed run); None once it is done."""
    refusal = selectors.results_refusal(run)
    if refusal is None:
        return None
    (messages.error if run.status == RunStatus.FAILED else messages.info)(request, refusal)
    return redirect("screening:run", pk=run.pk)


def _screening_run(user: User, pk: int) -> ScreeningRun:
    run = selectors.run_get(user=user, pk=pk)
    if run.kind != RunKind.SCREENING:
        raise Http404
    return run


def _dedup_run(user: User, pk: int) -> ScreeningRun:
    run = selectors.run_get(user=user, pk=pk)
    if run.kind != RunKind.DEDUPLICATION:
        raise Http404
    return run


@login_required
@require_GET
def run_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Per risk record its candidate residents with the explanation of each match, to
    confirm or reject (htmx, one candidate at a time)."""
    user = current_user(request)
    run = _screening_run(user, pk)
    unfinished = _unfinished(request, run)
    if unfinished is not None:
        return unfinished
    form = ReviewFilterForm(request.GET)
    valid = form.is_valid()
    data = form.cleaned_data if valid else {}
    band = data.get("band") or None
    undecided = bool(data.get("undecided"))
    records = selectors.run_records(user=user, run=run, band=band, undecided=undecided)
    page = Paginator(records, RECORDS_PER_PAGE).get_page(request.GET.get("page"))
    for record in page.object_list:
        _with_explanations(record.candidates)  # type: ignore[attr-defined]  # prefetched
    selectors.results_read_audit(
        user=user,
        run=run,
        view="review",
        filters={"band": band or "", "undecided": undecided, "page": page.number},
        request=request,
    )
    query = urlencode({"band": band or "", **({"undecided": "on"} if undecided else {})})
    context = {
        "run": run,
        "form": form,
        "page": page,
        "query": query,
        "may_review": selectors.may_review(user),
        "review_next": request.get_full_path(),
    }
    return render(request, "screening/run_review.html", context, status=200 if valid else 400)


@login_required
@require_GET
def run_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The run's matches in scope as XLSX (names masked for a user who may not see them);
    the service writes the audit entry."""
    user = current_user(request)
    run = selectors.run_get(user=user, pk=pk)
    if not selectors.may_screen(user):
        raise PermissionDenied
    unfinished = _unfinished(request, run)
    if unfinished is not None:
        return unfinished
    try:
        content = services.run_export_xlsx(actor=user, run=run)
    except ScreeningError as exc:
        messages.error(request, str(exc))
        return redirect("screening:run", pk=run.pk)
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="screening-run-{run.pk}.xlsx"'
    return response


def _candidate(user: User, match: Match) -> Match:
    """``match`` as the review page shows it (review, task, the resident's dwelling and
    beat), read again after a decision."""
    if match.record_id is not None:
        records = selectors.run_records(user=user, run=match.run).filter(pk=match.record_id)
        for record in records:
            candidates: list[Match] = record.candidates  # type: ignore[attr-defined]  # prefetched
            for candidate in candidates:
                if candidate.pk == match.pk:
                    return candidate
    return selectors.match_get(user=user, pk=match.pk)


@login_required
@require_POST
def match_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm or reject one candidate. From htmx: the candidate's card again, with the
    decision or the refusal; otherwise back to the review page with a message."""
    user = current_user(request)
    match = selectors.match_get(user=user, pk=pk)
    if not selectors.may_review(user):
        raise PermissionDenied
    if match.record_id is None:
        # A deduplication pair is merged (or left alone), not confirmed: a "confirmed" pair
        # would become a verification task with no risk record behind it.
        refusal = _("A pair of residents is merged, not reviewed.")
        if request.headers.get("HX-Request"):
            return HttpResponse(refusal, status=400, content_type="text/plain; charset=utf-8")
        messages.error(request, refusal)
        return _back(request, reverse("screening:run_pairs", args=[match.run_id]))
    form = ReviewForm(request.POST)
    # Decided only on a finished run's matches (``selectors.results_refusal``).
    unfinished = selectors.results_refusal(match.run)
    error = ""
    if unfinished is not None:
        error = unfinished
    elif not form.is_valid():
        error = " ".join(str(m) for errors in form.errors.values() for m in errors)
    else:
        try:
            services.match_review(
                actor=user,
                match=match,
                decision=form.cleaned_data["decision"],
                note=form.cleaned_data["note"],
            )
        except ScreeningError as exc:
            error = str(exc)
    if request.headers.get("HX-Request"):
        context = {
            "match": _with_explanations([_candidate(user, match)])[0],
            "may_review": True,
            "error": error,
            "review_next": request.POST.get("next", ""),
        }
        # htmx swaps 2xx answers only: a refusal is shown in the card too, so say 200.
        return render(request, "screening/_candidate.html", context)
    if error:
        messages.error(request, error)
        if unfinished is not None:
            return redirect("screening:run", pk=match.run_id)
    elif form.cleaned_data["decision"] == "confirmed":
        messages.success(request, _("Match confirmed: a verification task was created."))
    else:
        messages.success(request, _("Match rejected."))
    return _back(request, reverse("screening:run_review", args=[match.run_id]))


# --- verification tasks ------------------------------------------------------------------------


def _tasks_page(
    request: HttpRequest, user: User, *, form_for: tuple[int, TaskDoneForm] | None = None
) -> HttpResponse:
    source = request.GET if request.method == "GET" else request.POST
    filters = TaskFilterForm(source if "status" in source else {"status": TaskStatus.OPEN})
    valid = filters.is_valid()
    status_filter = (filters.cleaned_data.get("status") or None) if valid else TaskStatus.OPEN
    tasks = selectors.tasks(user=user, status=status_filter)
    page = Paginator(tasks, TASKS_PER_PAGE).get_page(source.get("page"))
    for task in page.object_list:
        if form_for is not None and form_for[0] == task.pk:
            task.done_form = form_for[1]  # type: ignore[attr-defined]  # for the template
        elif task.status == TaskStatus.OPEN:
            task.done_form = TaskDoneForm(prefix=f"t{task.pk}")  # type: ignore[attr-defined]
    context = {
        "filters": filters,
        "status_filter": status_filter or "",
        "page": page,
        "query": urlencode({"status": status_filter or ""}),
    }
    status = 200 if valid and form_for is None else 400
    return render(request, "screening/tasks.html", context, status=status)


@login_required
@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    return _tasks_page(request, current_user(request))


@login_required
@require_POST
def task_done(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    task: VerificationTask = selectors.task_get(user=user, pk=pk)
    if not selectors.may_work_tasks(user):
        raise PermissionDenied
    form = TaskDoneForm(request.POST, prefix=f"t{task.pk}")
    if form.is_valid():
        try:
            services.task_complete(actor=user, task=task, outcome=form.cleaned_data["outcome"])
        except ScreeningError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Verification task done."))
        return _back(request, reverse("screening:tasks"))
    return _tasks_page(request, user, form_for=(task.pk, form))


# --- deduplication -----------------------------------------------------------------------------


@login_required
@require_GET
def run_pairs(request: HttpRequest, pk: int) -> HttpResponse:
    """The merge candidates of a deduplication run. A pair can be merged here only by a user
    whose scope covers both records; others see it with a note saying so."""
    user = current_user(request)
    run = _dedup_run(user, pk)
    unfinished = _unfinished(request, run)
    if unfinished is not None:
        return unfinished
    pairs = selectors.merge_candidates(user=user, run=run)
    page = Paginator(pairs, PAIRS_PER_PAGE).get_page(request.GET.get("page"))
    may_review = selectors.may_review(user)
    for pair in _with_explanations(list(page.object_list)):
        # A side outside the user's scope is None: "a possible duplicate outside your
        # jurisdiction", nothing more (``selectors.pair_sides``).
        pair.sides = selectors.pair_sides(user, pair)  # type: ignore[attr-defined]  # for the template
        pair.mergeable = may_review and selectors.may_merge(user, pair)  # type: ignore[attr-defined]
    selectors.results_read_audit(
        user=user, run=run, view="pairs", filters={"page": page.number}, request=request
    )
    context = {
        "run": run,
        "page": page,
        "query": "",
        "review_next": request.get_full_path(),
        "may_export": selectors.may_screen(user),
    }
    return render(request, "screening/run_pairs.html", context)


@login_required
@require_POST
def pair_merge(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    match = selectors.match_get(user=user, pk=pk)
    if match.other_id is None:
        raise Http404
    if not selectors.may_review(user) or not selectors.may_merge(user, match):
        raise PermissionDenied
    unfinished = _unfinished(request, match.run)
    if unfinished is not None:
        return unfinished
    form = MergeForm(request.POST)
    if not form.is_valid() or form.cleaned_data["keep"] not in (match.resident_id, match.other_id):
        messages.error(request, _("Choose one of the two records to keep."))
    else:
        try:
            kept = services.pair_merge(actor=user, match=match, keep_id=form.cleaned_data["keep"])
        except ScreeningError as exc:
            messages.error(request, str(exc))
        except ObjectDoesNotExist:
            # The pair (or one of its residents) went between the page and this request:
            # someone merged it, or another pair of the same records, in the meantime.
            messages.error(
                request,
                _("This pair is no longer there: one of its records was merged in the meantime."),
            )
        else:
            messages.success(
                request, _("The two records were merged into record %(id)d.") % {"id": kept.pk}
            )
    return _back(request, reverse("screening:run_pairs", args=[match.run_id]))
