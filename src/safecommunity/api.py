"""The JSON API under /api/v1/ (django-ninja, OpenAPI at /api/v1/openapi.json).

Each app keeps its endpoints in its own ``api.py`` router; this module only mounts them.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.security import django_auth

from safecommunity.accounts.api import router as accounts_router
from safecommunity.custody.api import router as custody_router
from safecommunity.disputes.api import router as disputes_router
from safecommunity.fieldwork.api import router as fieldwork_router
from safecommunity.people.api import router as people_router
from safecommunity.places.api import router as places_router
from safecommunity.screening.api import router as screening_router
from safecommunity.service_requests.api import router as service_requests_router
from safecommunity.teams.api import router as teams_router
from safecommunity.teams.public_api import router as teams_public_router

api = NinjaAPI(
    title="Safe Community API",
    version="1",
    urls_namespace="api",
    # Session auth; ninja checks the CSRF token for unsafe methods on cookie-authenticated calls.
    auth=django_auth,
)


@api.exception_handler(ValidationError)
def django_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """A service refused the input: 400 with its messages, never a 500."""
    return api.create_response(request, {"detail": exc.messages}, status=400)


# Ninja answers Http404 with 404 ``{"detail": "Not Found"}`` — the same words for an unknown
# object and one out of the user's scope — and its own validation errors with 422.

api.add_router("/", accounts_router)
api.add_router("/places/", places_router)
api.add_router("/teams/", teams_router)
api.add_router("/people/", people_router)
api.add_router("/fieldwork/", fieldwork_router)
api.add_router("/disputes/", disputes_router)
api.add_router("/requests/", service_requests_router)
api.add_router("/custody/", custody_router)
api.add_router("/screening/", screening_router)
# Public (each operation says auth=None): find my officer.
api.add_router("/officer/", teams_public_router)

from safecommunity.people.baseline_api import router as people_baseline_router  # noqa: E402

api.add_router("/people/baseline", people_baseline_router)
