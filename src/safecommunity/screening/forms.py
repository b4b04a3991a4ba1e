"""Validation of the screening pages' input. The rules (who may screen, scope, what a review
or a merge changes) live in ``screening.services``; these forms only parse the fields."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from safecommunity.screening.models import Band, Decision, TaskStatus

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

PURPOSE_MAX = 1000
NOTE_MAX = 1000


PURPOSE_HELP = _(
    "Screening is a sensitive use of personal data: say why it is done (the case, the "
    "instruction, the measure). The purpose, you, the time and what was matched are written "
    "to the audit log."
)


def purpose_field(help_text: StrOrPromise = PURPOSE_HELP) -> forms.CharField:
    """The stated purpose of a screening: required (stripped, so blanks do not pass),
    because screening people against the registry is a sensitive use and the audit log
    records why it was done."""
    return forms.CharField(
        label=_("Purpose"),
        max_length=PURPOSE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=help_text,
        error_messages={"required": _("State the purpose of the screening.")},
    )


class RiskListUploadForm(forms.Form):
    # Larger lists go through `safecommunity screen FILE` on the server.
    MAX_BYTES = 100 * 1024 * 1024
    SUFFIXES = (".csv", ".txt", ".xlsx")

    file = forms.FileField(
        label=_("CSV or XLSX file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt"}),
    )
    name = forms.CharField(
        label=_("List name"),
        max_length=200,
        help_text=_("How the list is called on these pages, e.g. the issuing notice."),
        error_messages={"required": _("Give the list a name.")},
    )
    purpose = purpose_field()

    def clean_file(self) -> UploadedFile[bytes]:
        upload: UploadedFile[bytes] = self.cleaned_data["file"]
        if upload.size is not None and upload.size > self.MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB; ask an administrator to screen it.")
                % {"mb": self.MAX_BYTES // (1024 * 1024)}
            )
        if Path(upload.name or "").suffix.lower() not in self.SUFFIXES:
            raise forms.ValidationError(_("Upload a CSV or an XLSX file."))
        return upload


class ScreenForm(forms.Form):
    """Screen a risk list against the registry: the purpose is asked again (prefilled with
    the list's), since each run is its own use of the data."""

    purpose = purpose_field()


class DedupForm(forms.Form):
    purpose = purpose_field(
        _(
            "Looking for duplicate residents reads the whole registry in your jurisdiction: "
            "say why (a data-quality campaign, a complaint). It is written to the audit log."
        )
    )


class ReviewFilterForm(forms.Form):
    band = forms.ChoiceField(
        label=_("Band"), choices=[("", _("All bands")), *Band.choices], required=False
    )
    undecided = forms.BooleanField(label=_("Undecided only"), required=False)


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=Decision.choices)
    note = forms.CharField(label=_("Note"), max_length=NOTE_MAX, required=False)


class TaskFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("All")), *TaskStatus.choices], required=False
    )


class TaskDoneForm(forms.Form):
    outcome = forms.CharField(
        label=_("Outcome"),
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What the visit found: the person lives here, moved away, not the same …"),
        error_messages={"required": _("Say what the check found.")},
    )


class MergeForm(forms.Form):
    # Which of the pair's two residents to keep; the service checks it is one of them.
    keep = forms.IntegerField(min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
