"""Filters of the teams pages (validation only)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from safecommunity.places.models import PoliceOffice
from safecommunity.teams.models import StaffKind
from safecommunity.teams.selectors import ROSTER_FIRST_DAY, ROSTER_LAST_DAY


class StaffFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"),
        required=False,
        choices=[("", _("All kinds")), *StaffKind.choices],
    )


class RosterFilterForm(forms.Form):
    VIEWS = [("week", _("Week")), ("day", _("Day"))]

    office = forms.ModelChoiceField(
        label=_("Police office"),
        queryset=PoliceOffice.objects.none(),
        required=False,
        empty_label=_("All offices"),
    )
    start = forms.DateField(label=_("From"), required=False)
    view = forms.ChoiceField(label=_("Show"), choices=VIEWS, required=False)

    def __init__(self, *args: Any, offices: QuerySet[PoliceOffice], **kwargs: Any) -> None:
        """``offices`` are the offices in the user's scope: nothing else can be chosen."""
        super().__init__(*args, **kwargs)
        office_field = self.fields["office"]
        assert isinstance(office_field, forms.ModelChoiceField)  # noqa: S101  # declared above
        office_field.queryset = offices

    def clean_start(self) -> date | None:
        # Far-off days would overflow when a week is added to them: refuse them by name.
        start: date | None = self.cleaned_data["start"]
        if start is not None and not ROSTER_FIRST_DAY <= start <= ROSTER_LAST_DAY:
            raise forms.ValidationError(
                _("Choose a day between %(first)s and %(last)s."),
                code="out_of_range",
                params={
                    "first": ROSTER_FIRST_DAY.isoformat(),
                    "last": ROSTER_LAST_DAY.isoformat(),
                },
            )
        return start
