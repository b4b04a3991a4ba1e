from django.urls import path

from safecommunity.teams import public_views

app_name = "find_officer"
urlpatterns = [
    path("", public_views.find_officer, name="index"),
]
