from django.contrib import admin
from django.urls import include, path

from safecommunity import views
from safecommunity.api import api

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("safecommunity.accounts.urls")),
    path("places/", include("safecommunity.places.urls")),
    path("teams/", include("safecommunity.teams.urls")),
    path("people/", include("safecommunity.people.urls")),
    path("fieldwork/", include("safecommunity.fieldwork.urls")),
    path("disputes/", include("safecommunity.disputes.urls")),
    path("requests/", include("safecommunity.service_requests.urls")),
    path("custody/", include("safecommunity.custody.urls")),
    path("screening/", include("safecommunity.screening.urls")),
    # Public, no login: residents file and track requests, find their officer; Open311 clients.
    path("help/", include("safecommunity.service_requests.urls_public")),
    path("officer/", include("safecommunity.teams.urls_public")),
    path("open311/v2/", include("safecommunity.service_requests.urls_open311")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
]
