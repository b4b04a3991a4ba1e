"""/screening/: risk lists, runs, the review of matches, verification tasks, merge candidates."""

from django.urls import path

from safecommunity.screening import views

app_name = "screening"
urlpatterns = [
    path("", views.home, name="home"),
    path("lists/new/", views.list_upload, name="list_upload"),
    path("lists/<int:pk>/", views.list_detail, name="list"),
    path("lists/<int:pk>/issues.csv", views.list_issues, name="list_issues"),
    path("lists/<int:pk>/screen/", views.list_screen, name="list_screen"),
    path("deduplicate/", views.dedup_start, name="dedup_start"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/review/", views.run_review, name="run_review"),
    path("runs/<int:pk>/export.xlsx", views.run_export, name="run_export"),
    path("runs/<int:pk>/pairs/", views.run_pairs, name="run_pairs"),
    path("matches/<int:pk>/review/", views.match_review, name="match_review"),
    path("matches/<int:pk>/merge/", views.pair_merge, name="pair_merge"),
    path("tasks/", views.task_list, name="tasks"),
    path("tasks/<int:pk>/done/", views.task_done, name="task_done"),
]
