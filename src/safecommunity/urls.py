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
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
]
