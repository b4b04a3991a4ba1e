from django.urls import path

from safecommunity.service_requests import views_public

app_name = "resident"
urlpatterns = [
    path("", views_public.file_request, name="file"),
    path("track/", views_public.track, name="track"),
    path("requests/<str:service_request_id>/", views_public.request_status, name="status"),
    path("map/beats.geojson", views_public.beats_geojson, name="beats_geojson"),
]
