from django.urls import path

from safecommunity.places import views

app_name = "places"
urlpatterns = [
    path("", views.browser, name="browser"),
    path("division/<int:pk>/", views.division_detail, name="division"),
    path("division/<int:pk>/children/", views.division_children, name="division_children"),
    path("beat/<int:pk>/", views.beat_detail, name="beat"),
    path("station/<int:pk>/", views.station_detail, name="station"),
    path("office/<int:pk>/", views.office_detail, name="office"),
    path("map/", views.beat_map, name="map"),
    path("map/beats.geojson", views.beats_geojson, name="map_geojson"),
    path("beat-at/", views.beat_at, name="beat_at"),
    path("boundaries/import/", views.boundaries_import, name="boundaries_import"),
]
