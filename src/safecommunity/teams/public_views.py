"""The public "find my officer" page (no login): type an address, or share your location,
and see who looks after the place (``teams.public_selectors`` says what is shown and why).

One GET page: the form, and the answer below it when the query string asks something. Bad
input is shown as a message on the page (400); nothing found is a 404 page with the form.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from safecommunity.teams import public_selectors as public


@require_GET
def find_officer(request: HttpRequest) -> HttpResponse:
    address = request.GET.get("address", "")[: public.ADDRESS_MAX_CHARS * 2]
    lat, lng = request.GET.get("lat"), request.GET.get("lng")
    beat = request.GET.get("beat", "")
    context: dict[str, Any] = {"address": address, "card": None, "result": None, "error": ""}
    status = 200
    try:
        if beat.strip():
            beat_id = public.parse_beat_id(beat)
            if beat_id is None:
                raise public.LookupRefused(_("That is not a beat."))
            context["card"] = public.card_for_beat(beat_id)
            if context["card"] is None:
                context["error"], status = _("There is no such beat."), 404
        elif address.strip():
            result = public.find_by_address(address)
            if result is None:
                context["error"] = _(
                    "No address or compound of the city matches “%(address)s”. Try the "
                    "compound's name, or share your location."
                ) % {"address": address.strip()}
                status = 404
            else:
                context["result"], context["card"] = result, result.card
        elif lat or lng:
            point = public.parse_point(lat, lng)
            context["card"] = public.card_at_point(lat=point[0], lng=point[1])
            if context["card"] is None:
                context["error"] = _(
                    "Your location lies outside the city's beats. Type your address instead."
                )
                status = 404
    except public.LookupRefused as exc:
        context["error"], status = str(exc), 400
    return render(request, "teams/find_officer.html", context, status=status)
