"""Validation of the request pages' input. The rules (routing, attributes, workflow) live in
``services``; these forms only parse fields and hand them over."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from safecommunity.service_requests.models import ReinspectionResult, Service, Status
from safecommunity.service_requests.services import DESCRIPTION_MAX

EARLIEST = date(2000, 1, 1)


class RequestFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *Status.choices]
    )
    service = forms.ChoiceField(label=_("Kind"), required=False)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    mine = forms.BooleanField(label=_("Assigned to me"), required=False)

    def __init__(self, *args: Any, services: list[Service], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = [  # type: ignore[attr-defined]  # a ChoiceField
            ("", _("All")),
            *[(s.service_code, s.name) for s in services],
        ]


class TransitionForm(forms.Form):
    to = forms.ChoiceField(choices=Status.choices)
    note = forms.CharField(
        label=_("Note to the resident"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AssignForm(forms.Form):
    assignee = forms.IntegerField(label=_("Assign to"), min_value=1, max_value=2**63 - 1)
    note = forms.CharField(
        label=_("Note to the resident"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReinspectionForm(forms.Form):
    on = forms.DateField(label=_("Re-inspected on"), widget=forms.DateInput(attrs={"type": "date"}))
    result = forms.ChoiceField(label=_("Result"), choices=ReinspectionResult.choices)
    new_deadline = forms.DateField(
        label=_("New rectification deadline"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    note = forms.CharField(
        label=_("Note to the resident"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_on(self) -> date:
        value: date = self.cleaned_data["on"]
        if value < EARLIEST:
            raise forms.ValidationError(_("Enter a date after 2000."))
        return value


class PublicRequestForm(forms.Form):
    """The resident's form. Attributes of the chosen service are read from the POST by the
    view (``a_<service>_<code>``) and checked by the service."""

    service = forms.ChoiceField(label=_("What do you need help with?"))
    description = forms.CharField(
        label=_("Describe it"),
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    address = forms.CharField(
        label=_("Standard address"),
        required=False,
        max_length=300,
        help_text=_(
            "As on your household register, e.g. 学府花园1号楼1门101; or choose on the map."
        ),
    )
    lat = forms.FloatField(label=_("Latitude"), required=False, min_value=-90, max_value=90)
    lng = forms.FloatField(label=_("Longitude"), required=False, min_value=-180, max_value=180)
    name = forms.CharField(label=_("Your name"), required=False, max_length=100)
    phone = forms.CharField(
        label=_("Phone"),
        required=False,
        max_length=32,
        help_text=_("So your officer can call you back; never shown publicly."),
    )

    def __init__(self, *args: Any, services: list[Service], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = [  # type: ignore[attr-defined]  # a ChoiceField
            (s.service_code, s.name) for s in services
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        has_point = data.get("lat") is not None and data.get("lng") is not None
        if not has_point and not data.get("address"):
            raise forms.ValidationError(
                _("Say where: choose the place on the map or enter the standard address.")
            )
        return data


class TrackForm(forms.Form):
    number = forms.CharField(label=_("Tracking number"), max_length=32)
