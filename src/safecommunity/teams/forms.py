"""Filters of the teams pages (validation only)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from safecommunity.places.models import PoliceOffice
from safecommunity.teams.models import StaffKind


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
