"""The registry's own pages: search, a resident's page and its forms, registering one."""

from django.urls import path

from safecommunity.people import views

urlpatterns = [
    path("", views.resident_list, name="list"),
    path("new/", views.resident_create, name="create"),
    path("export/", views.resident_export, name="export"),
    path("dwellings/", views.dwelling_options, name="dwelling_options"),
    path("<int:pk>/", views.resident_detail, name="detail"),
    path("<int:pk>/unmask/", views.resident_unmask, name="unmask"),
    path("<int:pk>/move-in/", views.residence_move_in, name="move_in"),
    path("<int:pk>/move-out/", views.residence_move_out, name="move_out"),
    path("<int:pk>/care-tags/", views.care_tag_add, name="care_tag_add"),
    path("<int:pk>/care-tags/remove/", views.care_tag_remove, name="care_tag_remove"),
]
