"""Reads for screening, every one narrowed to what the user may see.

Who may screen (the one place this is decided): screening a risk list is police work and a
sensitive use of the registry, so it is for the people who answer for a jurisdiction —
community officers, station and district leaders, city analysts and administrators
(``SCREENER_ROLES``) — never for community or grid workers, who get the verification tasks
a confirmed match becomes. A city analyst sees aggregates, not names (DESIGN.md): they may
run a screening and read its counts, but deciding a match means seeing whom it names, so
``may_review`` also asks ``accounts.privacy.may_see_names``.

What a screener sees:

- a risk list or run is seen by its creator and by screeners whose scope covers the whole
  scope it was made in (``scope_paths``, fixed at creation; [] = everything, which only an
  administrator without jurisdiction covers): the station leader sees the lists of the
  station's officers, the district leader those of the district's stations, the officer next
  door none of them;
- within a run, only matches whose resident lives in the user's scope *now*; an
  out-of-scope list, run, match or task is a 404;
- a deduplication pair is listed when the user's scope covers either resident, and may be
  merged only when it covers both (``may_merge``). The side it does not cover is only "a
  possible duplicate outside your jurisdiction" (``pair_sides``): neither its name nor any
  other fact about it, not even its id, leaves this module for that user;
- a run's results exist once it is done (``results_refusal``): a queued or running run is
  still writing its matches and a failed one stopped half way, so nothing is reviewed,
  exported or merged from them.

Reads scope by where the resident lives now (``resident__path``, and ``other__path`` for a
pair's second resident), not by the paths frozen on ``Match``/``VerificationTask`` when they
were written: a resident who moves out of a beat leaves that beat's review and tasks and
joins the new beat's. The frozen paths only record where the match was made.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from safecommunity.accounts.models import Role, User
from safecommunity.accounts.privacy import may_see_names
from safecommunity.accounts.scope import Scope, scope_filter, scope_for
from safecommunity.accounts.services import audit_record
from safecommunity.people.models import Residence, Resident
from safecommunity.people.selectors import may_edit_residents
from safecommunity.screening.models import (
    Match,
    RiskList,
    RiskRecord,
    RunKind,
    RunStatus,
    ScreeningRun,
    VerificationTask,
)

MAX_ID = 2**63 - 1

SCREENER_ROLES = frozenset(
    {
        Role.COMMUNITY_OFFICER,
        Role.STATION_LEADER,
        Role.DISTRICT_LEADER,
        Role.CITY_ANALYST,
        Role.ADMIN,
    }
)
# Who works verification tasks: the beat team and the station above it, and administrators.
TASK_ROLES = frozenset(
    {
        Role.COMMUNITY_OFFICER,
        Role.COMMUNITY_WORKER,
        Role.GRID_WORKER,
        Role.STATION_LEADER,
        Role.ADMIN,
    }
)


def may_screen(user: User) -> bool:
    """Whether ``user`` may import risk lists, run screenings and deduplications, and read
    their results (see the module docstring)."""
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return False
    if user.role not in SCREENER_ROLES:
        return False
    scope = scope_for(user)
    return scope.is_everything or bool(scope.prefixes)


def may_review(user: User) -> bool:
    """Whether ``user`` may confirm or reject matches (and so see whom they name)."""
    return may_screen(user) and may_see_names(user)


def may_work_tasks(user: User) -> bool:
    """Whether ``user`` may complete verification tasks in their scope."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active) and (
        user.role in TASK_ROLES
    )


def scope_paths_of(user: User) -> list[str]:
    """What ``ScreeningRun.scope_paths``/``RiskList.scope_paths`` store for ``user``: their
    scope's prefixes, or [] for everything."""
    scope = scope_for(user)
    return [] if scope.prefixes is None else sorted(scope.prefixes)


def scope_of_paths(paths: list[str]) -> Scope:
    """The scope stored as ``scope_paths`` ([] = everything)."""
    return Scope(prefixes=tuple(paths) if paths else None)


def _covers_all(scope: Scope, paths: list[str]) -> bool:
    if scope.is_everything:
        return True
    return bool(paths) and all(scope.covers(p) for p in paths)


def _visible_q(user: User, model: type[RiskList] | type[ScreeningRun]) -> Q:
    """Rows of ``model`` (lists or runs) ``user`` may see: their own, and those made in a
    scope theirs covers. The scopes are compared in Python: there are few lists and runs
    (hundreds a year), and a JSON list of prefixes has no portable SQL test."""
    scope = scope_for(user)
    if scope.is_everything:
        return Q()
    covered = [
        pk
        for pk, paths in model.objects.exclude(created_by=user).values_list("pk", "scope_paths")
        if _covers_all(scope, paths)
    ]
    return Q(created_by=user) | Q(pk__in=covered)


# --- risk lists and runs ---------------------------------------------------------------------------


def risk_lists(*, user: User) -> QuerySet[RiskList]:
    if not may_screen(user):
        return RiskList.objects.none()
    return (
        RiskList.objects.filter(_visible_q(user, RiskList))
        .select_related("created_by")
        .order_by("-created_at", "-pk")
    )


def risk_list_get(*, user: User, pk: int) -> RiskList:
    if not 0 < pk <= MAX_ID:
        raise Http404
    return get_object_or_404(risk_lists(user=user), pk=pk)


def runs(*, user: User) -> QuerySet[ScreeningRun]:
    if not may_screen(user):
        return ScreeningRun.objects.none()
    return (
        ScreeningRun.objects.filter(_visible_q(user, ScreeningRun))
        .select_related("risk_list", "created_by")
        .order_by("-created_at", "-pk")
    )


def run_get(*, user: User, pk: int) -> ScreeningRun:
    if not 0 < pk <= MAX_ID:
        raise Http404
    return get_object_or_404(runs(user=user), pk=pk)


def results_refusal(run: ScreeningRun) -> str | None:
    """Why ``run``'s results may not be reviewed, exported or merged yet, or None once it is
    done. A queued or running run is still writing its matches (a page would show half of
    them, and a decision taken on them could be overtaken by the rest); a failed run stopped
    half way and is screened again, not reviewed."""
    if run.status == RunStatus.DONE:
        return None
    if run.status == RunStatus.FAILED:
        return _("This run failed, so it has no results to review: start a new run.")
    return _("This run is not finished yet: its results can be reviewed once it is done.")


def results_read_audit(
    *,
    user: User,
    run: ScreeningRun,
    view: str,
    filters: dict[str, Any],
    request: HttpRequest | None = None,
) -> None:
    """Record that ``user`` read ``run``'s results (``view``: the page or endpoint, with its
    ``filters`` and page): screening results name the residents found on a risk list, so
    reading them is a use of the data the audit log answers for, like unmasking a number.
    Called by the pages and the API after they have read the results they show."""
    audit_record(
        actor=user,
        action="screening.view",
        obj=run,
        reason=run.purpose,
        request=request,
        detail={"run": run.pk, "view": view, **filters},
    )


# --- matches ------------------------------------------------------------------------------------


def _current_residence(prefix: str) -> Prefetch[Any, Any, Any]:
    """``<prefix>.current``: the resident's current residence (a list of zero or one) with
    its dwelling and beat — the address and the beat a reviewer needs."""
    return Prefetch(
        f"{prefix}__residences",
        queryset=Residence.objects.filter(until__isnull=True).select_related(
            "dwelling", "dwelling__grid__beat"
        ),
        to_attr="current",
    )


def _scoped_matches(user: User, run: ScreeningRun) -> QuerySet[Match]:
    # Where the resident lives now, not ``Match.path`` (see the module docstring).
    return scope_filter(Match.objects.filter(run=run), user, via="resident__path")


def run_records(
    *, user: User, run: ScreeningRun, band: str | None = None, undecided: bool = False
) -> QuerySet[RiskRecord]:
    """The run's risk records that have a candidate in ``user``'s scope, in file order, each
    with ``candidates``: those candidates, best first, with ``resident.current`` (residence →
    dwelling → grid → beat), ``review`` and ``task`` loaded (3 queries in all).

    ``band`` keeps records with an in-scope candidate in that band; ``undecided`` those
    with an in-scope candidate not yet reviewed. Run it on a run from ``run_get``."""
    if run.kind != RunKind.SCREENING or not may_screen(user):
        return RiskRecord.objects.none()
    matches = _scoped_matches(user, run)
    wanted = matches.filter(record=OuterRef("pk"))
    if band:
        wanted = wanted.filter(band=band)
    if undecided:
        wanted = wanted.filter(review__isnull=True)
    candidates = (
        matches.select_related("resident", "review", "task")
        .prefetch_related(_current_residence("resident"))
        .order_by("rank", "-weight", "pk")
    )
    return (
        RiskRecord.objects.filter(risk_list_id=run.risk_list_id)
        .filter(Exists(wanted))
        .prefetch_related(Prefetch("matches", queryset=candidates, to_attr="candidates"))
        .order_by("line")
    )


def match_get(*, user: User, pk: int) -> Match:
    """A match of a run ``user`` sees, whose resident (for a pair: either one) lives in their
    scope now; ``Http404`` otherwise."""
    if not 0 < pk <= MAX_ID or not may_screen(user):
        raise Http404
    scope = scope_for(user)
    matches = Match.objects.filter(run__in=runs(user=user))
    if not scope.is_everything:
        matches = matches.filter(
            scope.q("resident__path") | (Q(other__isnull=False) & scope.q("other__path"))
        )
    return get_object_or_404(
        matches.select_related("run", "record", "resident", "other", "review", "task"), pk=pk
    )


def merge_candidates(*, user: User, run: ScreeningRun) -> QuerySet[Match]:
    """The pairs of a deduplication run where ``user``'s scope covers where at least one of
    the residents lives now, strongest first, with both residents' current residences loaded.

    Only the sides ``pair_sides`` returns may be shown: the other may lie outside the scope."""
    if run.kind != RunKind.DEDUPLICATION or not may_screen(user):
        return Match.objects.none()
    scope = scope_for(user)
    pairs = Match.objects.filter(run=run, other__isnull=False)
    if not scope.is_everything:
        pairs = pairs.filter(scope.q("resident__path") | scope.q("other__path"))
    return (
        pairs.select_related("resident", "other", "review")
        .prefetch_related(_current_residence("resident"), _current_residence("other"))
        .order_by("-weight", "pk")
    )


def pair_sides(user: User, pair: Match) -> tuple[Resident | None, Resident | None]:
    """The pair's two residents as ``user`` may see them: a resident who lives outside their
    scope is None — shown as "a possible duplicate outside your jurisdiction", nothing more.
    The pair was listed because the scope covers one side; the other belongs to another
    jurisdiction, whose team decides about it."""
    scope = scope_for(user)
    other = pair.other
    return (
        pair.resident if scope.covers(pair.resident.path) else None,
        other if other is not None and scope.covers(other.path) else None,
    )


def may_merge(user: User, match: Match) -> bool:
    """Whether ``user`` may merge the two residents of a pair: a reviewer who may edit
    residents, whose scope covers where both residents live now."""
    if match.other_id is None or not may_review(user) or not may_edit_residents(user):
        return False
    assert match.other is not None  # noqa: S101  # other_id is set
    scope = scope_for(user)
    return scope.covers(match.resident.path) and scope.covers(match.other.path)


# --- verification tasks ----------------------------------------------------------------------------


def tasks(*, user: User, status: str | None = None) -> QuerySet[VerificationTask]:
    """Verification tasks in ``user``'s scope, open first then newest, with the resident's
    current residence and the match's risk record loaded."""
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return VerificationTask.objects.none()
    # The task goes with the resident: the beat they live in now works it.
    queryset = scope_filter(VerificationTask.objects.all(), user, via="resident__path")
    if status:
        queryset = queryset.filter(status=status)
    return (
        queryset.select_related("resident", "match", "match__record", "match__run", "done_by")
        .prefetch_related(_current_residence("resident"))
        # "open" sorts after "done": descending puts the open tasks first.
        .order_by("-status", "-created_at", "-pk")
    )


def task_get(*, user: User, pk: int) -> VerificationTask:
    """A task in ``user``'s scope (where its resident lives now); ``Http404`` otherwise."""
    if not 0 < pk <= MAX_ID:
        raise Http404
    return get_object_or_404(tasks(user=user), pk=pk)
