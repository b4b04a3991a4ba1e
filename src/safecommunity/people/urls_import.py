"""/people/import/: upload a resident file, follow its job, download its errors."""

from django.urls import path

from safecommunity.people import import_views

urlpatterns = [
    path("", import_views.import_upload, name="import"),
    path("<int:pk>/", import_views.import_job, name="import_job"),
    path("<int:pk>/errors.csv", import_views.import_job_errors, name="import_job_errors"),
]
