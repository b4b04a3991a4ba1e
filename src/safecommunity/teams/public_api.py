"""Public (no login) API of the teams: find my officer.

``GET /api/v1/officer/?lat=&lng=`` (a point), ``?address=`` (a standard address or a
fragment: a compound's name, part of a street address) or ``?beat=`` (a beat's id, as the
alternatives give it) → the beat, its responsible community officer's name, the police office
with its hours and public phone, and the team (``teams.public_selectors`` says what is shown
and why). Every operation passes ``auth=None``.

Parameters are read as text and checked here, so junk is a 400 that names the parameter
(never ninja's 422, never a 500); a point or address outside every beat is a 404.
"""

# No ``from __future__ import annotations`` here: ninja reads the handlers' annotations at
# runtime to build the parameters' models.

from typing import Annotated

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status

from safecommunity.teams import public_selectors as public

router = Router(tags=["find my officer"])


class MessageOut(Schema):
    detail: str


class TeamMemberOut(Schema):
    kind: str
    role: str
    name: str


class OfficeOut(Schema):
    name: str
    service_centre: str
    address: str
    opening_hours: str
    phone: str
    lat: float | None
    lng: float | None


class BeatOut(Schema):
    id: int
    code: str
    name: str
    community: str
    station: str


class MatchOut(Schema):
    label: str
    beat_id: int
    beat_name: str


class OfficerOut(Schema):
    beat: BeatOut
    officer: str | None
    photo: str | None
    office: OfficeOut | None
    phone: str
    team: list[TeamMemberOut]
    match: MatchOut | None
    ambiguous: bool
    alternatives: list[MatchOut]


def _out(
    card: public.OfficerCard,
    match: public.Match | None = None,
    alternatives: list[public.Match] | None = None,
    *,
    ambiguous: bool = False,
) -> OfficerOut:
    office = card.office
    return OfficerOut(
        beat=BeatOut(
            id=card.beat_id,
            code=card.beat_code,
            name=card.beat_name,
            community=card.community,
            station=card.station,
        ),
        officer=card.officer,
        photo=None,
        office=OfficeOut(**office.__dict__) if office is not None else None,
        phone=card.phone,
        team=[TeamMemberOut(kind=m.kind, role=m.role, name=m.name) for m in card.team],
        match=(
            MatchOut(label=match.label, beat_id=match.beat_id, beat_name=match.beat_name)
            if match is not None
            else None
        ),
        ambiguous=ambiguous,
        alternatives=[
            MatchOut(label=m.label, beat_id=m.beat_id, beat_name=m.beat_name)
            for m in alternatives or []
        ],
    )


@router.get(
    "/",
    auth=None,
    response={200: OfficerOut, 400: MessageOut, 404: MessageOut},
    summary="Find my officer: the beat, community officer, police office and team of a "
    "point, an address or a beat",
    description="Give ``lat`` and ``lng`` (WGS 84 degrees), or ``address`` (a standard "
    "address, or part of one such as a compound's name), or ``beat`` (an id from "
    "``alternatives``). For an address the best match answers; ``ambiguous`` is true and "
    "``alternatives`` lists the best matches in other beats when the text fits several. "
    "400 names the missing or malformed parameter; 404 when no beat lies there or nothing "
    "matches. Public: no login.",
)
def find_officer(
    request: HttpRequest,
    lat: Annotated[str | None, Query(description="Latitude in degrees")] = None,
    lng: Annotated[str | None, Query(description="Longitude in degrees")] = None,
    address: Annotated[str | None, Query(description="An address or part of one")] = None,
    beat: Annotated[str | None, Query(description="A beat's id")] = None,
) -> Status[OfficerOut] | Status[MessageOut]:
    given = [
        name
        for name, value in (("point", lat or lng), ("address", address), ("beat", beat))
        if value
    ]
    if not given:
        return Status(400, MessageOut(detail=_("Give an address, or lat and lng, or a beat.")))
    if len(given) > 1:
        return Status(
            400,
            MessageOut(detail=_("Give only one of an address, a point (lat and lng) or a beat.")),
        )
    try:
        if beat:
            beat_id = public.parse_beat_id(beat)
            if beat_id is None:
                raise public.LookupRefused(_("beat must be a beat's id (a whole number)."))
            card = public.card_for_beat(beat_id)
            if card is None:
                return Status(404, MessageOut(detail=_("There is no such beat.")))
            return Status(200, _out(card))
        if address:
            result = public.find_by_address(address)
            if result is None:
                return Status(
                    404, MessageOut(detail=_("No address or compound of the city matches."))
                )
            return Status(
                200,
                _out(result.card, result.match, result.alternatives, ambiguous=result.ambiguous),
            )
        point = public.parse_point(lat, lng)
    except public.LookupRefused as exc:
        return Status(400, MessageOut(detail=str(exc)))
    card = public.card_at_point(lat=point[0], lng=point[1])
    if card is None:
        return Status(404, MessageOut(detail=_("This point lies in no beat of the city.")))
    return Status(200, _out(card))
