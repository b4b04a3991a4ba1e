"""The housing registry's pages: a dwelling, its use and its verified stamp."""

from django.urls import path

from safecommunity.people import dwelling_views

urlpatterns = [
    path("<int:pk>/", dwelling_views.dwelling_detail, name="dwelling"),
    path("<int:pk>/use/", dwelling_views.dwelling_use, name="dwelling_use"),
    path("<int:pk>/verify/", dwelling_views.dwelling_verify, name="dwelling_verify"),
]
