"""Writes for accounts: the audit log, logins with lock-out, users with a jurisdiction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from safecommunity.accounts.models import AuditEntry, Role, User


def client_address(request: HttpRequest | None) -> str | None:
    """The client's address as the server saw it (proxies are configured at the edge)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    reason: str = "",
    request: HttpRequest | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit entry. Call it inside the transaction of the change it records."""
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_username=actor.get_username() if actor is not None else "",
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        reason=reason,
        client_address=client_address(request),
        detail=detail or {},
    )


class LoginLocked(Exception):
    def __init__(self, until: Any) -> None:
        super().__init__(until)
        self.until = until


def login_attempt(*, request: HttpRequest, username: str, password: str) -> User | None:
    """Check a username and password, counting failures.

    After ``LOGIN_MAX_FAILURES`` failures in a row the account is locked for
    ``LOGIN_LOCKOUT_SECONDS``: even the right password is refused (``LoginLocked``) until then.
    Unknown usernames fail like wrong passwords, so the form does not reveal which users exist.
    """
    now = timezone.now()
    target = User.objects.filter(username=username).first()
    if target is not None and target.locked_until is not None and target.locked_until > now:
        raise LoginLocked(target.locked_until)
    user = authenticate(request, username=username, password=password)
    if user is not None:
        assert isinstance(user, User)  # noqa: S101  # AUTH_USER_MODEL
        if user.failed_logins or user.locked_until:
            user.failed_logins = 0
            user.locked_until = None
            user.save(update_fields=["failed_logins", "locked_until"])
        return user
    if target is not None:
        locked = False
        with transaction.atomic():
            # Count in the database, so two concurrent wrong guesses both count.
            User.objects.filter(pk=target.pk).update(failed_logins=models.F("failed_logins") + 1)
            target.refresh_from_db(fields=["failed_logins"])
            if target.failed_logins >= settings.LOGIN_MAX_FAILURES:
                target.locked_until = now + timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
                target.failed_logins = 0
                target.save(update_fields=["locked_until", "failed_logins"])
                audit_record(actor=None, action="login.locked", obj=target, request=request)
                locked = True
        # Raised outside the transaction: raising inside would roll the lock back.
        if locked:
            raise LoginLocked(target.locked_until)
    return None


def user_create(
    *,
    username: str,
    password: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    jurisdiction: models.Model | None = None,
    actor: User | None = None,
    is_staff: bool = False,
    is_superuser: bool = False,
) -> User:
    """Create a user with exactly one jurisdiction (a Division, Beat or PoliceStation).

    Raises ``ValidationError`` naming the problem: an unknown role, or a missing jurisdiction
    for anyone but an administrator.
    """
    from safecommunity.places.models import Beat, Division, PoliceStation

    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role “%(role)s”.") % {"role": role}})
    fields: dict[str, Any] = {}
    if isinstance(jurisdiction, Division):
        fields["jurisdiction_division"] = jurisdiction
    elif isinstance(jurisdiction, Beat):
        fields["jurisdiction_beat"] = jurisdiction
    elif isinstance(jurisdiction, PoliceStation):
        fields["jurisdiction_station"] = jurisdiction
    elif jurisdiction is not None:
        raise ValidationError(
            {"jurisdiction": _("A jurisdiction is a division, a beat or a police station.")}
        )
    elif role != Role.ADMIN:
        raise ValidationError(
            {
                "jurisdiction": _(
                    "User “%(username)s” has no jurisdiction: every role but administrator "
                    "needs a division, a beat or a police station."
                )
                % {"username": username}
            }
        )
    with transaction.atomic():
        user = User(
            username=username,
            role=role,
            first_name=first_name,
            last_name=last_name,
            is_staff=is_staff or role == Role.ADMIN,
            is_superuser=is_superuser,
            **fields,
        )
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save()
        audit_record(actor=actor, action="user.create", obj=user, detail={"role": role})
    return user
