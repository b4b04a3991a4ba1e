"""Validation of the field-work pages' input. The rules live in ``fieldwork.services``; these
forms parse the fields, resolve ids through the scoped selectors and hand them over."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from safecommunity.accounts.models import User
from safecommunity.fieldwork import selectors
from safecommunity.fieldwork.models import Campaign, OpenedKind, PublicityTopic, VisitOutcome
from safecommunity.fieldwork.services import (
    DISPUTE_CATEGORIES,
    DISPUTE_RISKS,
    HAZARD_KINDS,
    Finding,
)
from safecommunity.people.forms import DwellingField
from safecommunity.people.models import Gender, Relation, Resident
from safecommunity.places import selectors as places
from safecommunity.places.models import Beat, PoliceOffice

DISPUTE_CATEGORY_LABELS = {
    "neighbours": _("Neighbours"),
    "family": _("Family"),
    "property_management": _("Property management"),
    "tenancy": _("Tenancy"),
    "wages_owed": _("Wages owed"),
    "traffic": _("Traffic"),
    "other": _("Other"),
}
DISPUTE_RISK_LABELS = {"low": _("Low"), "medium": _("Medium"), "high": _("High")}
HAZARD_KIND_LABELS = {
    "fire": _("Fire"),
    "gas": _("Gas"),
    "electric": _("Electricity"),
    "building": _("Building"),
    "traffic": _("Traffic"),
    "other": _("Other"),
}
# Request kinds field workers open from findings (the service_requests app holds the full
# list), with the value given to each one's required attribute: the findings say the rest.
REQUEST_SERVICES = [
    ("elderly", _("Help for an elderly person")),
    ("noise", _("Noise")),
    ("illegal_structure", _("Illegal structure")),
    ("other", _("Other")),
]
REQUEST_ATTRIBUTES = {
    "elderly": {"need": "other"},
    "noise": {"noise_source": "other"},
    "illegal_structure": {"structure_kind": "other"},
}


def _local_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _now_local() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


class FindingFields(forms.Form):
    """Findings, and what they open in the same step."""

    findings = forms.CharField(
        label=_("Findings"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    open_as = forms.ChoiceField(
        label=_("Open from the findings"),
        required=False,
        choices=[("", _("Nothing")), *OpenedKind.choices],
    )
    category = forms.ChoiceField(
        label=_("Dispute category"),
        required=False,
        choices=[("", "—"), *((c, DISPUTE_CATEGORY_LABELS[c]) for c in DISPUTE_CATEGORIES)],
    )
    risk = forms.ChoiceField(
        label=_("Risk"),
        required=False,
        choices=[(r, DISPUTE_RISK_LABELS[r]) for r in DISPUTE_RISKS],
    )
    service_code = forms.ChoiceField(
        label=_("Kind of request"), required=False, choices=[("", "—"), *REQUEST_SERVICES]
    )
    hazard_kind = forms.ChoiceField(
        label=_("Kind of hazard"),
        required=False,
        choices=[("", "—"), *((k, HAZARD_KIND_LABELS[k]) for k in HAZARD_KINDS)],
    )

    def finding(self) -> Finding | None:
        kind = self.cleaned_data.get("open_as") or ""
        if not kind:
            return None
        codes: dict[str, str] = {
            OpenedKind.DISPUTE: self.cleaned_data.get("category") or "",
            OpenedKind.REQUEST: self.cleaned_data.get("service_code") or "",
        }
        code = codes.get(kind, "")
        attributes = dict(REQUEST_ATTRIBUTES.get(code, {})) if kind == OpenedKind.REQUEST else {}
        if kind == OpenedKind.HAZARD:
            attributes = {"hazard_kind": self.cleaned_data.get("hazard_kind") or ""}
        return Finding(
            kind=kind,
            code=code,
            risk=self.cleaned_data.get("risk") or "low",
            attributes=attributes,
        )


class VisitForm(FindingFields):
    """A household visit, laid out for a phone. ``client_uuid`` makes resubmitting harmless."""

    field_order = [
        "client_uuid",
        "dwelling",
        "visited_at",
        "outcome",
        "residents_confirmed",
        "moved_out",
        "campaign",
    ]

    client_uuid = forms.UUIDField(widget=forms.HiddenInput)
    dwelling = DwellingField(label=_("Dwelling"))
    visited_at = forms.DateTimeField(label=_("Visited at"), widget=_local_input())
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=VisitOutcome.choices, widget=forms.RadioSelect
    )
    residents_confirmed = forms.BooleanField(
        label=_("Residents confirmed as registered"), required=False
    )
    moved_out = forms.ModelMultipleChoiceField(
        label=_("Moved out"),
        queryset=Resident.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    new_name = forms.CharField(label=_("New resident: name"), required=False, max_length=50)
    new_id_number = forms.CharField(label=_("ID number"), required=False, max_length=40)
    new_gender = forms.ChoiceField(
        label=_("Gender"), required=False, choices=[("", "—"), *Gender.choices]
    )
    new_birth_date = forms.DateField(
        label=_("Date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    new_phone = forms.CharField(label=_("Phone"), required=False, max_length=30)
    new_relation = forms.ChoiceField(
        label=_("Relation"), required=False, choices=Relation.choices, initial=Relation.OTHER
    )
    new_registered = forms.BooleanField(label=_("Registered (户籍) here"), required=False)
    campaign = forms.ModelChoiceField(
        label=_("Campaign"), queryset=Campaign.objects.none(), required=False
    )

    def __init__(
        self, *args: Any, user: User, residents: QuerySet[Resident] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["dwelling"]
        assert isinstance(field, DwellingField)  # noqa: S101  # declared above
        field.user = user
        self.initial.setdefault("client_uuid", uuid.uuid4())
        self.initial.setdefault("visited_at", _now_local())
        self.initial.setdefault("outcome", VisitOutcome.MET)
        moved = self.fields["moved_out"]
        assert isinstance(moved, forms.ModelMultipleChoiceField)  # noqa: S101
        moved.queryset = residents if residents is not None else Resident.objects.none()
        campaign = self.fields["campaign"]
        assert isinstance(campaign, forms.ModelChoiceField)  # noqa: S101
        campaign.queryset = selectors.campaigns_active(user=user, day=timezone.localdate())


class PatrolForm(FindingFields):
    beat = forms.ModelChoiceField(label=_("Beat"), queryset=Beat.objects.none())
    started_at = forms.DateTimeField(label=_("Started at"), widget=_local_input())
    ended_at = forms.DateTimeField(label=_("Ended at"), widget=_local_input())
    route = forms.CharField(
        label=_("Route (GeoJSON LineString)"),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=_('For example {"type": "LineString", "coordinates": [[117.1, 39.1], …]}'),
    )
    field_order = ["beat", "started_at", "ended_at", "route"]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self.fields["beat"], places.beat_list(user=user).order_by("path"))
        self.initial.setdefault("ended_at", _now_local())


class StationingForm(forms.Form):
    office = forms.ModelChoiceField(label=_("Police office"), queryset=PoliceOffice.objects.none())
    started_at = forms.DateTimeField(label=_("Started at"), widget=_local_input())
    ended_at = forms.DateTimeField(label=_("Ended at"), widget=_local_input())
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self.fields["office"], places.office_list(user=user).order_by("code"))
        self.initial.setdefault("ended_at", _now_local())


class PublicityForm(forms.Form):
    beat = forms.ModelChoiceField(label=_("Beat"), queryset=Beat.objects.none())
    topic = forms.ChoiceField(label=_("Topic"), choices=PublicityTopic.choices)
    place = forms.CharField(label=_("Place"), max_length=200)
    held_at = forms.DateTimeField(label=_("Held at"), widget=_local_input())
    people_reached = forms.IntegerField(label=_("People reached"), min_value=0, max_value=1_000_000)
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self.fields["beat"], places.beat_list(user=user).order_by("path"))
        self.initial.setdefault("held_at", _now_local())


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    path = forms.ChoiceField(label=_("Scope"))
    starts_on = forms.DateField(
        label=_("Starts on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(label=_("Ends on"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(d.path, d.name) for d in places.division_list(user=user).order_by("path")[:500]]
        choices += [(b.path, b.name) for b in places.beat_list(user=user).order_by("path")[:500]]
        path_field = self.fields["path"]
        assert isinstance(path_field, forms.ChoiceField)  # noqa: S101
        path_field.choices = choices
        self.initial.setdefault("starts_on", timezone.localdate())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if isinstance(starts, date) and isinstance(ends, date) and ends < starts:
            self.add_error("ends_on", _("The campaign ends before it starts."))
        return data


def _limit(field: forms.Field, queryset: QuerySet[Any]) -> None:
    """Offer only ``queryset``; a single choice (a grid worker's one beat) comes chosen."""
    assert isinstance(field, forms.ModelChoiceField)  # noqa: S101  # declared as one
    field.queryset = queryset
    only = list(queryset[:2])
    if len(only) == 1:
        field.initial = only[0].pk
        field.empty_label = None


def aware(value: datetime) -> datetime:
    """Form datetimes are already aware (USE_TZ); a naive one is local time."""
    return timezone.make_aware(value) if timezone.is_naive(value) else value
