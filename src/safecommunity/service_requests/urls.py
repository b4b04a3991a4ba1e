from django.urls import path

from safecommunity.service_requests import views

app_name = "service_requests"
urlpatterns = [
    path("", views.request_list, name="list"),
    path("<str:service_request_id>/", views.request_detail, name="detail"),
    path("<str:service_request_id>/assign/", views.request_assign, name="assign"),
    path("<str:service_request_id>/transition/", views.request_transition, name="transition"),
    path("<str:service_request_id>/reinspect/", views.request_reinspect, name="reinspect"),
]
