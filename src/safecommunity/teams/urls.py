from django.urls import path

from safecommunity.teams import views

app_name = "teams"
urlpatterns = [
    path("compliance/", views.compliance, name="compliance"),
    path("staff/", views.staff_list, name="staff"),
    path("roster/", views.roster, name="roster"),
]
