"""Disputes API: list, detail, report, transition, mediation session, statistics.

Handlers are thin over ``disputes.selectors`` (scoped: out of scope answers 404 like unknown)
and ``disputes.services`` (the rules). Bad input answers 400 with one message per problem,
each naming its field; a role that may not do something gets 403 saying who may.
"""

# No ``from __future__ import annotations`` here: ninja reads the handlers' annotations at
# runtime to build the parameters' models.

from datetime import date
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from safecommunity.accounts.api import request_user
from safecommunity.accounts.models import User
from safecommunity.disputes import selectors, services, workflow
from safecommunity.disputes.models import Dispute, DisputeCategory, DisputeState
from safecommunity.disputes.privacy import shown_names, shown_party, shown_text
from safecommunity.disputes.schemas import (
    CategoryCountOut,
    DisputeDetailOut,
    DisputeIn,
    DisputeOut,
    ErrorsOut,
    EventOut,
    MonthCountOut,
    PartyOut,
    PlaceCountOut,
    SessionIn,
    SessionOut,
    StatisticsOut,
    TransitionIn,
)
from safecommunity.places.schemas import MessageOut, Pagination, Ref

router = Router(tags=["disputes"])

_ERRORS = {400: ErrorsOut, 403: MessageOut, 404: MessageOut}


class _ShapedPage:
    """The list's queryset seen through ``_out`` for ``@paginate``: counted and sliced like the
    queryset, so only the rows of the requested page are fetched and shaped."""

    def __init__(self, user: User, queryset: QuerySet[Dispute]) -> None:
        self._user = user
        self._queryset = queryset

    def all(self) -> "_ShapedPage":
        return self  # ninja counts through ``.all().count()``

    def count(self) -> int:
        return self._queryset.count()

    def __getitem__(self, page: slice) -> list[DisputeOut]:
        return [DisputeOut(**_out(self._user, d)) for d in self._queryset[page]]


def _messages(exc: ValidationError) -> list[str]:
    """One message per problem, prefixed with its field when it has one."""
    if hasattr(exc, "error_dict"):
        return [
            f"{field}: {message}" if field != "__all__" else message
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    return [str(m) for m in exc.messages]


def _out(user: User, dispute: Dispute) -> dict[str, Any]:
    """The list's fields of ``dispute`` (from ``selectors.dispute_list``/``dispute_get``) as
    ``user`` may see them: a repeat is flagged, the earlier one's id shown only in scope."""
    return {
        "id": dispute.pk,
        "beat": Ref.model_validate(dispute.beat),
        "place": dispute.place,
        "source": dispute.source,
        "category": dispute.category,
        "risk": dispute.risk,
        "may_turn_violent": dispute.may_turn_violent,
        "escalated": dispute.escalated,
        "state": dispute.state,
        "state_label": str(dispute.get_state_display()),
        "due_at": dispute.due_at,
        "overdue": bool(getattr(dispute, "overdue", False)),
        "repeat": dispute.is_repeat,
        "repeat_of_id": selectors.shown_repeat_of_id(user=user, dispute=dispute),
        "outcome": dispute.outcome,
        "referred_to": dispute.referred_to,
        "reported_at": dispute.reported_at,
        "settled_at": dispute.settled_at,
        "closed_at": dispute.closed_at,
    }


def _detail(user: User, dispute: Dispute) -> DisputeDetailOut:
    return DisputeDetailOut(
        **_out(user, dispute),
        description=dispute.description,
        dwelling_id=dispute.dwelling_id,
        referral_note=dispute.referral_note,
        parties=[
            PartyOut(name=p.name, role=p.role, resident_id=p.resident_id, phone=p.phone)
            for p in (
                shown_party(user, party) for party in selectors.dispute_parties(dispute=dispute)
            )
        ],
        sessions=[
            SessionOut(
                id=s.pk,
                held_at=s.held_at,
                mediators=shown_names(user, s.mediators),
                participants=shown_names(user, s.participants),
                notes=shown_text(user, s.notes),
                agreement=shown_text(user, s.agreement),
            )
            for s in selectors.dispute_sessions(dispute=dispute)
        ],
        events=[
            EventOut(
                from_state=e.from_state,
                to_state=e.to_state,
                actor=shown_names(user, e.actor_name),
                at=e.at,
                note=e.note,
            )
            for e in selectors.dispute_history(dispute=dispute)
        ],
        next_states=workflow.allowed_for(user.role, dispute.state),
    )


@router.get("/", response=list[DisputeOut], summary="Disputes in scope, newest first")
@paginate(Pagination)
def dispute_list(
    request: HttpRequest,
    state: Annotated[DisputeState | None, Query(description="Only in this state")] = None,
    category: Annotated[DisputeCategory | None, Query(description="Only this category")] = None,
    overdue: Annotated[bool | None, Query(description="Only overdue (or not)")] = None,
    escalated: Annotated[bool | None, Query(description="Only escalated (or not)")] = None,
    repeat: Annotated[bool | None, Query(description="Only repeats (or not)")] = None,
) -> list[DisputeOut]:
    user = request_user(request)
    disputes = selectors.dispute_list(
        user=user,
        state=state,
        category=category,
        overdue=overdue,
        escalated=escalated,
        repeat=repeat,
    )
    return _ShapedPage(user, disputes)  # type: ignore[return-value]  # paginate counts and slices it


@router.get(
    "/statistics",
    response={200: StatisticsOut, 400: ErrorsOut},
    summary="Counts by category, place and month, settlement rate, median days to settle",
)
def statistics(
    request: HttpRequest,
    since: Annotated[
        date | None, Query(description="Count disputes reported from this day (YYYY-MM-DD)")
    ] = None,
) -> Any:
    user = request_user(request)
    if since is not None and not selectors.statistics_since_valid(since):
        first = selectors.STATISTICS_FIRST_DAY
        return Status(400, {"detail": [f"since: choose a day between {first:%Y-%m-%d} and today."]})
    stats = selectors.dispute_statistics(user=user, since=since)
    return StatisticsOut(
        since=stats.since,
        total=stats.total,
        total_since=stats.total_since,
        settled=stats.settled,
        with_outcome=stats.with_outcome,
        settlement_rate=stats.settlement_rate,
        median_days_to_settle=stats.median_days_to_settle,
        open=stats.open,
        overdue=stats.overdue,
        escalated=stats.escalated,
        repeats=stats.repeats,
        by_outcome=stats.by_outcome,
        by_category=[
            CategoryCountOut(category=v, label=label, count=n) for v, label, n in stats.by_category
        ],
        by_place=[
            PlaceCountOut(path=p.path, name=p.name, kind=p.kind, count=p.count)
            for p in stats.by_place
        ],
        by_month=[
            MonthCountOut(month=f"{m.month:%Y-%m}", reported=m.reported, settled=m.settled)
            for m in stats.by_month
        ],
    )


@router.get(
    "/{dispute_id}",
    response={200: DisputeDetailOut, 404: MessageOut},
    summary="One dispute with its parties, sessions and history",
)
def dispute_detail(request: HttpRequest, dispute_id: int) -> DisputeDetailOut:
    user = request_user(request)
    return _detail(user, selectors.dispute_get(user=user, pk=dispute_id))


@router.post("/", response={201: DisputeDetailOut, **_ERRORS}, summary="Report (take in) a dispute")
def dispute_report(request: HttpRequest, payload: DisputeIn) -> Any:
    user = request_user(request)
    problems: list[str] = []
    beat = selectors.report_beats(user=user).filter(pk=payload.beat_id).first()
    if beat is None:
        problems.append(f"beat_id: no beat {payload.beat_id} in your jurisdiction.")
    dwelling = None
    if payload.dwelling_id is not None:
        dwelling = selectors.report_dwelling(user=user, pk=payload.dwelling_id)
        if dwelling is None:
            problems.append(f"dwelling_id: no dwelling {payload.dwelling_id} in your jurisdiction.")
    wanted = [p.resident_id for p in payload.parties if p.resident_id is not None]
    residents = selectors.report_residents(user=user, ids=wanted)
    parties: list[dict[str, Any]] = []
    for n, party in enumerate(payload.parties, start=1):
        if party.resident_id is not None:
            if party.resident_id not in residents:
                problems.append(
                    f"parties[{n}].resident_id: no resident {party.resident_id} "
                    "in your jurisdiction."
                )
                continue
            parties.append({"resident": residents[party.resident_id], "role": party.role})
        else:
            parties.append({"name": party.name, "phone": party.phone, "role": party.role})
    if problems or beat is None:
        return Status(400, {"detail": problems})
    try:
        dispute = services.dispute_report(
            actor=user,
            beat=beat,
            dwelling=dwelling,
            place=payload.place,
            source=payload.source,
            category=payload.category,
            risk=payload.risk,
            may_turn_violent=payload.may_turn_violent,
            description=payload.description,
            parties=parties,
        )
    except ValidationError as exc:
        return Status(400, {"detail": _messages(exc)})
    except PermissionDenied as exc:
        return Status(403, {"detail": str(exc)})
    return Status(201, _detail(user, selectors.dispute_get(user=user, pk=dispute.pk)))


@router.post(
    "/{dispute_id}/transition",
    response={200: DisputeDetailOut, **_ERRORS},
    summary="Move a dispute to another state (the table in disputes.workflow)",
)
def dispute_transition(request: HttpRequest, dispute_id: int, payload: TransitionIn) -> Any:
    user = request_user(request)
    dispute = selectors.dispute_get(user=user, pk=dispute_id)
    try:
        services.dispute_transition(
            actor=user,
            dispute=dispute,
            to_state=payload.to_state,
            note=payload.note,
            referred_to=payload.referred_to,
        )
    except ValidationError as exc:
        return Status(400, {"detail": _messages(exc)})
    except PermissionDenied as exc:
        return Status(403, {"detail": str(exc)})
    return Status(200, _detail(user, selectors.dispute_get(user=user, pk=dispute_id)))


@router.post(
    "/{dispute_id}/sessions",
    response={201: SessionOut, **_ERRORS},
    summary="Record a mediation session (while mediating)",
)
def session_add(request: HttpRequest, dispute_id: int, payload: SessionIn) -> Any:
    user = request_user(request)
    dispute = selectors.dispute_get(user=user, pk=dispute_id)
    try:
        session = services.mediation_session_add(
            actor=user,
            dispute=dispute,
            held_at=payload.held_at,
            mediators=payload.mediators,
            participants=payload.participants,
            notes=payload.notes,
            agreement=payload.agreement,
        )
    except ValidationError as exc:
        return Status(400, {"detail": _messages(exc)})
    except PermissionDenied as exc:
        return Status(403, {"detail": str(exc)})
    return Status(
        201,
        SessionOut(
            id=session.pk,
            held_at=session.held_at,
            mediators=shown_names(user, session.mediators),
            participants=shown_names(user, session.participants),
            notes=shown_text(user, session.notes),
            agreement=shown_text(user, session.agreement),
        ),
    )
