"""The registry's pages. Each part keeps its own URL list, so they can grow apart."""

from django.urls import include, path

app_name = "people"
urlpatterns = [
    path("", include("safecommunity.people.urls_registry")),
    path("import/", include("safecommunity.people.urls_import")),
    path("baseline/", include("safecommunity.people.urls_baseline")),
    path("dwellings/", include("safecommunity.people.urls_dwellings")),
]
