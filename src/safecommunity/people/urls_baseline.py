"""The baseline page, mounted at /people/baseline/ (``people:baseline``)."""

from django.urls import path

from safecommunity.people import baseline_views

urlpatterns = [
    path("", baseline_views.baseline, name="baseline"),
]
