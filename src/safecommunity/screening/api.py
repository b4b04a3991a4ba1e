"""Screening API: runs with their progress, the matches of a run per risk record, their
review, the merge candidates of a deduplication run, and the verification tasks.

Thin over ``screening.selectors`` (scoped: a run, match or task out of scope is a 404 like
an unknown one) and ``screening.services``. A user who may not review matches or work tasks
gets 403; a refused write (``ScreeningError``, a run not done yet) is a 400 saying why.
Residents' names follow ``accounts.privacy``, and a user who may not see them gets what the
registry's API gives them (the birth year, no address, no notes); ID and phone numbers are
only ever masked. The side of a pair outside the user's jurisdiction is only said to exist.
Reading a run's matches or pairs is audited (``selectors.results_read_audit``).
"""

# No ``from __future__ import annotations`` here: ninja reads the handlers' annotations at
# runtime to build the parameters' models.

from typing import Annotated, Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.errors import HttpError

from safecommunity.accounts.api import request_user
from safecommunity.accounts.models import User
from safecommunity.accounts.privacy import may_see_names, shown_name
from safecommunity.people.models import Resident
from safecommunity.screening import selectors, services
from safecommunity.screening.engine import FIELDS
from safecommunity.screening.models import (
    Band,
    Match,
    RiskRecord,
    RunKind,
    RunStatus,
    ScreeningRun,
    TaskStatus,
    VerificationTask,
)
from safecommunity.screening.schemas import (
    BandCountsOut,
    FieldExplanationOut,
    MatchOut,
    MatchPageOut,
    MessageOut,
    OutsideJurisdictionOut,
    PairOut,
    PairPageOut,
    ProgressOut,
    RecordMatchesOut,
    ResidentOut,
    ReviewIn,
    ReviewOut,
    RiskListRef,
    RiskRecordOut,
    RunDetailOut,
    RunOut,
    RunPageOut,
    TaskDoneIn,
    TaskOut,
    TaskPageOut,
)
from safecommunity.screening.services import ScreeningError

router = Router(tags=["screening"])

MAX_LIMIT = 200
MAX_OFFSET = 1_000_000_000
_WRITE = {400: MessageOut, 403: MessageOut, 404: MessageOut}


# --- shapes -------------------------------------------------------------------------------------


def _percent(run: ScreeningRun) -> int:
    if run.status == RunStatus.DONE:
        return 100
    if run.progress_total <= 0:
        return 0
    return max(0, min(100, run.progress_done * 100 // run.progress_total))


def _run(run: ScreeningRun) -> RunOut:
    return RunOut(
        id=run.pk,
        kind=RunKind(run.kind),
        status=RunStatus(run.status),
        risk_list=(
            RiskListRef(id=run.risk_list.pk, name=run.risk_list.name)
            if run.risk_list is not None
            else None
        ),
        purpose=run.purpose,
        created_by=run.created_by.get_username(),
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        records=run.records,
        matched_records=run.matched_records,
        bands=BandCountsOut(certain=run.certain, probable=run.probable, possible=run.possible),
    )


def _run_detail(run: ScreeningRun) -> RunDetailOut:
    return RunDetailOut(
        **_run(run).model_dump(),
        progress=ProgressOut(
            stage=run.stage,
            done=run.progress_done,
            total=run.progress_total,
            percent=_percent(run),
        ),
        message=run.message,
    )


def _resident(user: User, resident: Resident) -> ResidentOut:
    # ``current``: the prefetched current residence (zero or one) with dwelling and beat.
    current = getattr(resident, "current", None) or []
    dwelling = current[0].dwelling if current else None
    beat = getattr(dwelling.grid, "beat", None) if dwelling is not None else None
    names = may_see_names(user)
    return ResidentOut(
        id=resident.pk,
        name=shown_name(user, resident.name),
        id_masked=resident.id_masked,
        phone_masked=resident.phone_masked,
        birth_date=resident.birth_date if names else None,
        birth_year=resident.birth_date.year if resident.birth_date else None,
        gender=resident.gender,
        address=dwelling.standard_address if dwelling is not None and names else "",
        beat=beat.name if beat is not None else "",
    )


def _side(user: User, resident: Resident | None) -> ResidentOut | OutsideJurisdictionOut:
    """One side of a pair: the resident, or (None from ``selectors.pair_sides``) only that a
    possible duplicate lies outside the user's jurisdiction — not even its id."""
    if resident is None:
        return OutsideJurisdictionOut(
            outside_jurisdiction=True,
            detail=_("A possible duplicate outside your jurisdiction"),
        )
    return _resident(user, resident)


def _record(user: User, record: RiskRecord) -> RiskRecordOut:
    names = may_see_names(user)
    return RiskRecordOut(
        id=record.pk,
        line=record.line,
        name=shown_name(user, record.name),
        id_masked=record.id_masked,
        phone_masked=record.phone_masked,
        birth_date=record.birth_date if names else None,
        birth_year=record.birth_date.year if record.birth_date else None,
        gender=record.gender,
        address=record.address if names else "",
    )


def _explanation(match: Match) -> list[FieldExplanationOut]:
    raw: dict[str, Any] = match.explanation if isinstance(match.explanation, dict) else {}
    out = []
    for field in FIELDS:
        value = raw.get(field)
        if isinstance(value, list | tuple) and len(value) == 2:
            out.append(
                FieldExplanationOut(field=field, level=str(value[0]), weight=float(value[1]))
            )
    return out


def _scored(user: User, match: Match) -> dict[str, Any]:
    """The fields a screening match and a deduplication pair share."""
    review = getattr(match, "review", None)
    task = getattr(match, "task", None)
    return {
        "id": match.pk,
        "run_id": match.run_id,
        "band": Band(match.band),
        "weight": match.weight,
        "probability": match.probability,
        "rank": match.rank,
        "record_id": match.record_id,
        "explanation": _explanation(match),
        "review": (
            ReviewOut(
                decision=review.decision,
                note=review.note if may_see_names(user) else None,
                reviewed_by=review.reviewed_by.get_username(),
                reviewed_at=review.reviewed_at,
            )
            if review is not None
            else None
        ),
        "task_id": task.pk if task is not None else None,
    }


def _match(user: User, match: Match) -> MatchOut:
    return MatchOut(**_scored(user, match), resident=_resident(user, match.resident), other=None)


def _pair(user: User, pair: Match) -> PairOut:
    resident, other = selectors.pair_sides(user, pair)
    return PairOut(
        **_scored(user, pair),
        resident=_side(user, resident),
        other=_side(user, other),
        mergeable=selectors.may_merge(user, pair),
    )


def _task(user: User, task: VerificationTask) -> TaskOut:
    return TaskOut(
        id=task.pk,
        status=TaskStatus(task.status),
        match_id=task.match_id,
        run_id=task.match.run_id,
        record_line=task.match.record.line if task.match.record is not None else None,
        resident=_resident(user, task.resident),
        created_at=task.created_at,
        done_at=task.done_at,
        done_by=task.done_by.get_username() if task.done_by is not None else None,
        outcome=task.outcome if may_see_names(user) else None,
    )


# --- runs ---------------------------------------------------------------------------------------


@router.get("/runs", response=RunPageOut, summary="Screening and deduplication runs in scope")
def run_list(
    request: HttpRequest,
    kind: Annotated[RunKind | None, Query(description="Only runs of this kind")] = None,
    status: Annotated[RunStatus | None, Query(description="Only runs in this status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> RunPageOut:
    user = request_user(request)
    runs = selectors.runs(user=user)
    if kind is not None:
        runs = runs.filter(kind=kind)
    if status is not None:
        runs = runs.filter(status=status)
    return RunPageOut(count=runs.count(), items=[_run(r) for r in runs[offset : offset + limit]])


@router.get(
    "/runs/{run_id}",
    response={200: RunDetailOut, 404: MessageOut},
    summary="One run with its progress (stage, done/total) and counts per band",
)
def run_detail(request: HttpRequest, run_id: int) -> RunDetailOut:
    return _run_detail(selectors.run_get(user=request_user(request), pk=run_id))


@router.get(
    "/runs/{run_id}/matches",
    response={200: MatchPageOut, 404: MessageOut},
    summary="The risk records of a screening run with their candidate residents in scope",
    description="Paginated by risk record, in file order; each record carries its candidates "
    "in your jurisdiction, best first. ``band`` keeps the records with a candidate in that "
    "band, ``undecided`` those with a candidate not yet reviewed. A deduplication run has "
    "no risk records: its pairs are under ``/pairs``.",
)
def run_matches(
    request: HttpRequest,
    run_id: int,
    band: Annotated[
        Band | None, Query(description="Only records with a match in this band")
    ] = None,
    undecided: Annotated[bool, Query(description="Only records with an unreviewed match")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> MatchPageOut:
    user = request_user(request)
    run = selectors.run_get(user=user, pk=run_id)
    records = selectors.run_records(user=user, run=run, band=band, undecided=undecided)
    page = list(records[offset : offset + limit])
    out = MatchPageOut(
        count=records.count(),
        items=[
            RecordMatchesOut(
                record=_record(user, record),
                candidates=[_match(user, m) for m in record.candidates],  # type: ignore[attr-defined]  # prefetched
            )
            for record in page
        ],
    )
    selectors.results_read_audit(
        user=user,
        run=run,
        view="api.matches",
        filters={
            "band": band.value if band is not None else "",
            "undecided": undecided,
            "limit": limit,
            "offset": offset,
        },
        request=request,
    )
    return out


@router.get(
    "/runs/{run_id}/pairs",
    response={200: PairPageOut, 404: MessageOut},
    summary="The merge candidates of a deduplication run",
    description="Pairs of residents that may be one person, at least one of whom lives in "
    "your jurisdiction, strongest first; ``mergeable`` says whether it covers both. A side "
    "outside your jurisdiction is only said to be there (``outside_jurisdiction``): who and "
    "where it is belongs to that jurisdiction.",
)
def run_pairs(
    request: HttpRequest,
    run_id: int,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> PairPageOut:
    user = request_user(request)
    run = selectors.run_get(user=user, pk=run_id)
    pairs = selectors.merge_candidates(user=user, run=run)
    page = list(pairs[offset : offset + limit])
    out = PairPageOut(count=pairs.count(), items=[_pair(user, pair) for pair in page])
    selectors.results_read_audit(
        user=user,
        run=run,
        view="api.pairs",
        filters={"limit": limit, "offset": offset},
        request=request,
    )
    return out


@router.post(
    "/matches/{match_id}/review",
    response={200: MatchOut, **_WRITE},
    summary="Confirm or reject a match",
    description="A confirmed match becomes a verification task for the resident's beat team; "
    "rejecting a confirmed match withdraws its open task. The decision is audited.",
)
def match_review(
    request: HttpRequest, match_id: int, payload: ReviewIn
) -> Status[MatchOut] | Status[MessageOut]:
    user = request_user(request)
    match = selectors.match_get(user=user, pk=match_id)
    if not selectors.may_review(user):
        raise HttpError(403, _("You may not review matches."))
    if match.record_id is None:
        return Status(400, MessageOut(detail=_("A pair of residents is merged, not reviewed.")))
    refusal = selectors.results_refusal(match.run)
    if refusal is not None:
        return Status(400, MessageOut(detail=refusal))
    try:
        services.match_review(actor=user, match=match, decision=payload.decision, note=payload.note)
    except PermissionDenied as exc:
        return Status(403, MessageOut(detail=str(exc) or _("You may not review matches.")))
    except ScreeningError as exc:
        return Status(400, MessageOut(detail=str(exc)))
    return Status(200, _reviewed(user, match))


def _reviewed(user: User, match: Match) -> MatchOut:
    """The match again after a decision, as the matches endpoint shows it."""
    run = selectors.run_get(user=user, pk=match.run_id)
    records = selectors.run_records(user=user, run=run).filter(pk=match.record_id or 0)
    for record in records:
        candidates: list[Match] = record.candidates  # type: ignore[attr-defined]  # prefetched
        for candidate in candidates:
            if candidate.pk == match.pk:
                return _match(user, candidate)
    return _match(user, selectors.match_get(user=user, pk=match.pk))


# --- verification tasks -------------------------------------------------------------------------


@router.get("/tasks", response=TaskPageOut, summary="Verification tasks in scope, open first")
def task_list(
    request: HttpRequest,
    status: Annotated[TaskStatus | None, Query(description="Only tasks in this status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> TaskPageOut:
    user = request_user(request)
    tasks = selectors.tasks(user=user, status=status)
    page = list(tasks[offset : offset + limit])
    return TaskPageOut(count=tasks.count(), items=[_task(user, t) for t in page])


@router.post(
    "/tasks/{task_id}/done",
    response={200: TaskOut, **_WRITE},
    summary="Mark a verification task done, with what the check found",
)
def task_done(
    request: HttpRequest, task_id: int, payload: TaskDoneIn
) -> Status[TaskOut] | Status[MessageOut]:
    user = request_user(request)
    task = selectors.task_get(user=user, pk=task_id)
    if not selectors.may_work_tasks(user):
        raise HttpError(403, _("You may not work verification tasks."))
    outcome = payload.outcome.strip()
    if not outcome:
        return Status(400, MessageOut(detail=_("Say what the check found.")))
    try:
        services.task_complete(actor=user, task=task, outcome=outcome)
    except PermissionDenied as exc:
        return Status(403, MessageOut(detail=str(exc) or _("You may not work this task.")))
    except ScreeningError as exc:
        return Status(400, MessageOut(detail=str(exc)))
    return Status(200, _task(user, selectors.task_get(user=user, pk=task.pk)))
