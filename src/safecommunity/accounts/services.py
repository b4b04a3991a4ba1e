"""Writes for accounts: the audit log, logins with lock-out, users with a jurisdiction."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.cache import cache
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

    Unknown usernames fail like wrong passwords *and are locked out the same way*, so neither
    the message nor the lock-out reveals which users exist. Their failures are counted in
    Django's cache (``_unknown_username_failed``), not the database. The default cache is
    per process: with several server processes, configure a shared cache (Redis) in
    ``CACHES``, or each process counts on its own and an unknown name locks later than a
    real one.
    """
    now = timezone.now()
    target = User.objects.filter(username=username).first()
    if target is not None and target.locked_until is not None and target.locked_until > now:
        raise LoginLocked(target.locked_until)
    if target is None:
        locked_until = cache.get(_unknown_username_key(username, "locked_until"))
        if locked_until is not None and locked_until > now:
            raise LoginLocked(locked_until)
    # Called for unknown names too: the backend then runs the password hasher once anyway,
    # so the answer takes as long as for a real user.
    user = authenticate(request, username=username, password=password)
    if user is not None:
        assert isinstance(user, User)  # noqa: S101  # AUTH_USER_MODEL
        if user.failed_logins or user.locked_until:
            user.failed_logins = 0
            user.locked_until = None
            user.save(update_fields=["failed_logins", "locked_until"])
        return user
    if target is None:
        _unknown_username_failed(request=request, username=username, now=now)
        return None
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


def _unknown_username_key(username: str, part: str) -> str:
    """Cache key for an unknown username's counter: a hash of the lower-cased name, so the
    cache holds no typed names (people type passwords into the username field) and any
    cache backend accepts the key."""
    digest = hashlib.sha256(username.lower().encode()).hexdigest()
    return f"safecommunity:login-unknown:{digest}:{part}"


def _unknown_username_failed(*, request: HttpRequest, username: str, now: datetime) -> None:
    """Count a failed login for a username that does not exist, exactly as ``login_attempt``
    counts one for a real user; raise ``LoginLocked`` at the last allowed failure.

    ``cache.add`` then ``cache.incr`` is atomic on LocMem and Redis, so concurrent guesses
    all count. Like a user's ``failed_logins``, the counter does not expire by itself.
    """
    failures_key = _unknown_username_key(username, "failures")
    cache.add(failures_key, 0, timeout=None)
    try:
        failures = cache.incr(failures_key)
    except ValueError:  # evicted between add and incr
        cache.set(failures_key, 1, timeout=None)
        failures = 1
    if failures < settings.LOGIN_MAX_FAILURES:
        return
    until = now + timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    cache.set(
        _unknown_username_key(username, "locked_until"),
        until,
        timeout=settings.LOGIN_LOCKOUT_SECONDS,
    )
    cache.delete(failures_key)
    audit_record(actor=None, action="login.locked", request=request, detail={"known_user": False})
    raise LoginLocked(until)


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
