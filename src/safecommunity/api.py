"""The JSON API under /api/v1/ (django-ninja, OpenAPI at /api/v1/openapi.json).

Each app keeps its endpoints in its own ``api.py`` router; this module only mounts them.
"""

from __future__ import annotations

from ninja import NinjaAPI
from ninja.security import django_auth

api = NinjaAPI(
    title="Safe Community API",
    version="1",
    urls_namespace="api",
    # Session auth; ninja checks the CSRF token for unsafe methods on cookie-authenticated calls.
    auth=django_auth,
)
