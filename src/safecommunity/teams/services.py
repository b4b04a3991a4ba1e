"""Writes for teams: staff, their beats, committee posts, the duty roster."""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from safecommunity.accounts.models import User
from safecommunity.accounts.services import audit_record
from safecommunity.places.models import Beat, Division, DivisionKind, PoliceOffice, PoliceStation
from safecommunity.teams.models import (
    Assignment,
    Committee,
    CommitteePost,
    CommitteePostTitle,
    DutyShift,
    Staff,
    StaffKind,
)


def staff_create(
    *,
    kind: str,
    name: str,
    path: str,
    station: PoliceStation | None = None,
    police_number: str = "",
    phone: str = "",
    user: User | None = None,
    actor: User | None = None,
) -> Staff:
    if kind not in StaffKind.values:
        raise ValidationError({"kind": _("Unknown staff kind “%(kind)s”.") % {"kind": kind}})
    if police_number and kind != StaffKind.COMMUNITY_OFFICER:
        raise ValidationError({"police_number": _("Only community officers have a police number.")})
    with transaction.atomic():
        staff = Staff.objects.create(
            kind=kind,
            name=name,
            path=path,
            station=station,
            police_number=police_number,
            phone=phone,
            user=user,
        )
        audit_record(actor=actor, action="staff.create", obj=staff)
    return staff


def staff_assign(
    *,
    staff: Staff,
    beat: Beat,
    responsible: bool = False,
    since: date | None = None,
    actor: User | None = None,
) -> Assignment:
    """Put ``staff`` in ``beat``'s team. Refuses, by name, a second responsible officer or a
    responsible non-officer (the database enforces both as well)."""
    if responsible and staff.kind != StaffKind.COMMUNITY_OFFICER:
        raise ValidationError(_("Only a community officer can be responsible for a beat."))
    try:
        with transaction.atomic():
            assignment = Assignment.objects.create(
                staff=staff,
                beat=beat,
                kind=staff.kind,
                responsible=responsible,
                since=since or timezone.localdate(),
                path=beat.path,
            )
            audit_record(
                actor=actor,
                action="team.assign",
                obj=assignment,
                detail={"beat": beat.code, "responsible": responsible},
            )
    except IntegrityError as exc:
        if Assignment.objects.filter(staff=staff, beat=beat).exists():
            raise ValidationError(
                _("%(staff)s is already in the team of beat %(beat)s.")
                % {"staff": staff, "beat": beat.code}
            ) from exc
        current = Assignment.objects.filter(beat=beat, responsible=True).first()
        raise ValidationError(
            _("Beat %(beat)s already has a responsible officer: %(officer)s.")
            % {"beat": beat.code, "officer": current.staff if current else "?"}
        ) from exc
    return assignment


def committee_post_grant(
    *,
    staff: Staff,
    community: Division,
    committee: str,
    title: str,
    since: date | None = None,
    actor: User | None = None,
) -> CommitteePost:
    if community.kind != DivisionKind.COMMUNITY:
        raise ValidationError(_("Committee posts are held on a community's committees."))
    if committee not in Committee.values or title not in CommitteePostTitle.values:
        raise ValidationError(_("Unknown committee or post."))
    with transaction.atomic():
        post = CommitteePost.objects.create(
            staff=staff,
            community=community,
            committee=committee,
            title=title,
            since=since or timezone.localdate(),
            path=community.path,
        )
        audit_record(actor=actor, action="team.committee_post", obj=post)
    return post


def duty_shift_create(
    *,
    office: PoliceOffice,
    staff: Staff,
    starts_at: datetime,
    ends_at: datetime,
    actor: User | None = None,
) -> DutyShift:
    if ends_at <= starts_at:
        raise ValidationError(_("A shift must end after it starts."))
    with transaction.atomic():
        shift = DutyShift.objects.create(
            office=office, staff=staff, starts_at=starts_at, ends_at=ends_at
        )
        audit_record(actor=actor, action="team.duty_shift", obj=shift)
    return shift
