from django.urls import path

from safecommunity.disputes import views

app_name = "disputes"
urlpatterns = [
    path("", views.dispute_list, name="list"),
    path("report/", views.dispute_report, name="report"),
    path("statistics/", views.statistics, name="statistics"),
    path("<int:pk>/", views.dispute_detail, name="detail"),
    path("<int:pk>/transition/", views.dispute_transition, name="transition"),
    path("<int:pk>/sessions/", views.session_add, name="session"),
]
