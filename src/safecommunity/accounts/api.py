"""Accounts API: who am I and what do I see."""

# No ``from __future__ import annotations`` here: ninja reads the handlers' annotations at
# runtime to build the parameters' models.

from django.http import HttpRequest
from ninja import Router
from ninja.errors import AuthenticationError

from safecommunity.accounts.models import User
from safecommunity.accounts.schemas import JurisdictionOut, MeOut
from safecommunity.accounts.scope import scope_for

router = Router(tags=["accounts"])


def request_user(request: HttpRequest) -> User:
    """The logged-in user of an authenticated API request.

    The API's ``django_auth`` has already refused anonymous requests (401); this narrows the
    type for the handlers and refuses anything else the same way.
    """
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise AuthenticationError
    return user


def _jurisdiction(user: User) -> JurisdictionOut | None:
    if user.jurisdiction_division is not None:
        division = user.jurisdiction_division
        return JurisdictionOut(
            kind=division.kind,
            id=division.pk,
            code=division.code,
            name=division.name,
            path=division.path,
        )
    if user.jurisdiction_beat is not None:
        beat = user.jurisdiction_beat
        return JurisdictionOut(
            kind="beat", id=beat.pk, code=beat.code, name=beat.name, path=beat.path
        )
    if user.jurisdiction_station is not None:
        station = user.jurisdiction_station
        return JurisdictionOut(
            kind="station", id=station.pk, code=station.code, name=station.name, path=None
        )
    return None


@router.get("/me", response=MeOut, summary="The current user, role and jurisdiction")
def me(request: HttpRequest) -> MeOut:
    user = request_user(request)
    scope = scope_for(user)
    return MeOut(
        username=user.get_username(),
        name=str(user),
        role=user.role,
        role_label=str(user.get_role_display()),
        jurisdiction=_jurisdiction(user),
        scope=None if scope.prefixes is None else list(scope.prefixes),
    )
