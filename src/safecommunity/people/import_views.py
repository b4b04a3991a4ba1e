"""The resident import pages: upload a file (queued as a background job), watch its
progress (htmx polls the job), download its error file.

Only users who may edit residents (``selectors.may_edit_residents``: not a city analyst)
may import; addresses are found within their scope. A job is seen only
by the user who uploaded it — anyone else gets 404.
"""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from safecommunity.accounts.models import User
from safecommunity.accounts.views import current_user
from safecommunity.people.models import ImportJob
from safecommunity.people.selectors import may_edit_residents
from safecommunity.people.tasks import import_job_enqueue


class ImportForm(forms.Form):
    # Larger files go through `safecommunity import-residents` on the server.
    MAX_BYTES = 200 * 1024 * 1024

    file = forms.FileField(
        label=_("CSV or XLSX file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt"}),
    )
    create_missing_addresses = forms.BooleanField(
        label=_("Create addresses that have no dwelling yet (needs a grid code column)"),
        required=False,
    )

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB; ask an administrator to import it.")
                % {"mb": self.MAX_BYTES // (1024 * 1024)}
            )
        return upload


def _importer(request: HttpRequest) -> User:
    user = current_user(request)
    if not may_edit_residents(user):
        raise Http404
    return user


def _job(user: User, pk: int) -> ImportJob:
    job = ImportJob.objects.filter(pk=pk, created_by=user).first()
    if job is None:
        raise Http404
    return job


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    user = _importer(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = import_job_enqueue(
            actor=user,
            upload=form.cleaned_data["file"],
            create_missing_addresses=form.cleaned_data["create_missing_addresses"],
        )
        return redirect("people:import_job", pk=job.pk)
    jobs = ImportJob.objects.filter(created_by=user).order_by("-created_at", "-pk")[:10]
    status = 400 if request.method == "POST" else 200
    return render(request, "people/import_upload.html", {"form": form, "jobs": jobs}, status=status)


@login_required
@require_GET
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    """The job page; an htmx request gets only the progress fragment, which polls itself
    until the job has finished."""
    job = _job(_importer(request), pk)
    template = (
        "people/import_job_progress.html"
        if request.headers.get("HX-Request")
        else "people/import_job.html"
    )
    return render(request, template, {"job": job})


@login_required
@require_GET
def import_job_errors(request: HttpRequest, pk: int) -> FileResponse:
    job = _job(_importer(request), pk)
    path = Path(job.error_file) if job.error_file else None
    if path is None or not path.is_file():
        raise Http404
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"{Path(job.file_name).stem or 'import'}.errors.csv",
        content_type="text/csv; charset=utf-8",
    )
