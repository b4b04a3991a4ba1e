"""Forms of the disputes pages (validation only; the rules live in the services)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from safecommunity.disputes.models import (
    DisputeCategory,
    DisputeSource,
    DisputeState,
    PartyRole,
    ReferredTo,
    RiskLevel,
)
from safecommunity.disputes.selectors import STATISTICS_FIRST_DAY
from safecommunity.places.models import Beat
from safecommunity.places.schemas import MAX_ID

YES_NO = [("", _("Any")), ("yes", _("Yes")), ("no", _("No"))]


def yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class DisputeFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("All states")), *DisputeState.choices]
    )
    category = forms.ChoiceField(
        label=_("Category"),
        required=False,
        choices=[("", _("All categories")), *DisputeCategory.choices],
    )
    overdue = forms.ChoiceField(label=_("Overdue"), required=False, choices=YES_NO)
    escalated = forms.ChoiceField(label=_("Escalated"), required=False, choices=YES_NO)
    repeat = forms.ChoiceField(label=_("Repeat"), required=False, choices=YES_NO)


class _PartyFields(forms.Form):
    """Two parties at most on the page (the API takes any number)."""

    PARTY_COUNT = 2

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for n in range(1, self.PARTY_COUNT + 1):
            self.fields[f"party{n}_resident"] = forms.IntegerField(
                label=_("Party %(n)d: resident number in the registry") % {"n": n},
                required=False,
                min_value=1,
                max_value=MAX_ID,
            )
            self.fields[f"party{n}_name"] = forms.CharField(
                label=_("Party %(n)d: name (not in the registry)") % {"n": n},
                required=False,
                max_length=50,
            )
            self.fields[f"party{n}_phone"] = forms.CharField(
                label=_("Party %(n)d: phone") % {"n": n}, required=False, max_length=32
            )
            self.fields[f"party{n}_role"] = forms.ChoiceField(
                label=_("Party %(n)d: role") % {"n": n},
                choices=PartyRole.choices,
                initial=PartyRole.APPLICANT if n == 1 else PartyRole.RESPONDENT,
            )


class DisputeReportForm(_PartyFields):
    beat = forms.ModelChoiceField(label=_("Beat"), queryset=Beat.objects.none())
    dwelling = forms.IntegerField(
        label=_("Dwelling number"), required=False, min_value=1, max_value=MAX_ID
    )
    place = forms.CharField(label=_("Place"), required=False, max_length=200)
    source = forms.ChoiceField(label=_("Source"), choices=DisputeSource.choices)
    category = forms.ChoiceField(label=_("Category"), choices=DisputeCategory.choices)
    risk = forms.ChoiceField(label=_("Risk"), choices=RiskLevel.choices)
    may_turn_violent = forms.BooleanField(label=_("May escalate to violence"), required=False)
    description = forms.CharField(
        label=_("What happened"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )

    field_order = ["beat", "dwelling", "place", "source", "category", "risk", "may_turn_violent"]

    def __init__(self, *args: Any, beats: QuerySet[Beat], **kwargs: Any) -> None:
        """``beats`` are the beats in the user's scope: nothing else can be chosen."""
        super().__init__(*args, **kwargs)
        beat_field = self.fields["beat"]
        assert isinstance(beat_field, forms.ModelChoiceField)  # noqa: S101  # declared above
        beat_field.queryset = beats
        self.order_fields(self.field_order)


class TransitionForm(forms.Form):
    to_state = forms.ChoiceField(label=_("Move to"), choices=DisputeState.choices)
    referred_to = forms.ChoiceField(
        label=_("Referred to"),
        required=False,
        choices=[("", "—"), *ReferredTo.choices],
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )

    def __init__(self, *args: Any, states: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if states is not None:
            state_field = self.fields["to_state"]
            assert isinstance(state_field, forms.ChoiceField)  # noqa: S101  # declared above
            state_field.choices = [(s, DisputeState(s).label) for s in states]


class SessionForm(forms.Form):
    held_at = forms.DateTimeField(
        label=_("Held at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    mediators = forms.CharField(label=_("Mediators"), max_length=200)
    participants = forms.CharField(
        label=_("Participants"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )
    agreement = forms.CharField(
        label=_("Agreement"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
    )


class StatisticsForm(forms.Form):
    since = forms.DateField(
        label=_("Since"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_since(self) -> date | None:
        since: date | None = self.cleaned_data["since"]
        today = timezone.localdate()
        if since is not None and not STATISTICS_FIRST_DAY <= since <= today:
            raise forms.ValidationError(
                _("Choose a day between %(first)s and %(last)s."),
                code="out_of_range",
                params={"first": STATISTICS_FIRST_DAY.isoformat(), "last": today.isoformat()},
            )
        return since
