from django.urls import path

from safecommunity.fieldwork import views

app_name = "fieldwork"
urlpatterns = [
    path("", views.index, name="index"),
    path("visits/", views.visit_list, name="visits"),
    path("visits/new/", views.visit_new, name="visit_new"),
    path("visits/<int:pk>/", views.visit_detail, name="visit_detail"),
    path("patrols/", views.patrol_list, name="patrols"),
    path("patrols/new/", views.patrol_new, name="patrol_new"),
    path("stationing/", views.stationing_list, name="stationing"),
    path("stationing/new/", views.stationing_new, name="stationing_new"),
    path("publicity/", views.publicity_list, name="publicity"),
    path("publicity/new/", views.publicity_new, name="publicity_new"),
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/beats/<int:beat_id>/", views.campaign_beat, name="campaign_beat"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
]
