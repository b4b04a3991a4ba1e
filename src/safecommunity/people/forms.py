"""Validation of the registry pages' input. The rules about a resident (the ID's checksum,
birth date and gender agreeing with it, phone formats) live in ``people.services`` and
``people.identity``; these forms only parse the fields and hand them over."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from safecommunity.accounts.models import User
from safecommunity.people import selectors
from safecommunity.people.models import CareTagKind, Gender, Relation, VerificationMethod
from safecommunity.places.models import Dwelling, DwellingUse

EARLIEST = date(1900, 1, 1)


class SearchForm(forms.Form):
    """The search box and the list's filters. Bad values are form errors, never a 500."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=selectors.MAX_QUERY_LENGTH,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("ID number, phone, name (characters or pinyin) or address"),
                "autocomplete": "off",
            }
        ),
    )
    registered = forms.TypedChoiceField(
        label=_("Residence"),
        required=False,
        choices=[
            ("", _("All")),
            ("yes", _("Registered (户籍)")),
            ("no", _("Non-registered (流动)")),
        ],
        coerce=lambda v: {"yes": True, "no": False}.get(v),
        empty_value=None,
    )
    care_tag = forms.ChoiceField(
        label=_("Care tag"),
        required=False,
        choices=[("", _("All")), *CareTagKind.choices],
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The care-tag filter exists only for those who may see care tags.
        if not selectors.may_see_care_tags(user):
            del self.fields["care_tag"]


class DwellingField(forms.IntegerField):
    """A dwelling in the user's scope, chosen by id (the page offers a search-by-address
    select); one outside the scope is "not found", exactly like an unknown id."""

    default_error_messages = {
        "unknown": _("Choose a dwelling of your jurisdiction."),
    }

    def __init__(self, *, user: User | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", selectors.MAX_ID)
        kwargs.setdefault("widget", forms.Select)
        super().__init__(**kwargs)
        self.user = user

    def clean(self, value: Any) -> Dwelling | None:
        pk = super().clean(value)
        if pk is None:
            return None
        if self.user is None:
            raise forms.ValidationError(self.error_messages["unknown"], code="unknown")
        dwelling = selectors.dwelling_find(user=self.user, pk=pk)
        if dwelling is None:
            raise forms.ValidationError(self.error_messages["unknown"], code="unknown")
        return dwelling


class ResidenceFields(forms.Form):
    """Where a resident lives from when, and how (shared by create and move-in)."""

    dwelling = DwellingField(label=_("Dwelling"))
    since = forms.DateField(
        label=_("Living there since"), widget=forms.DateInput(attrs={"type": "date"})
    )
    relation = forms.ChoiceField(label=_("Relation"), choices=Relation.choices)
    registered = forms.BooleanField(
        label=_("Registered (户籍) here"),
        required=False,
        help_text=_("Leave unticked for a non-registered (floating) resident."),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["dwelling"]
        assert isinstance(field, DwellingField)  # noqa: S101  # declared above
        field.user = user
        self.initial.setdefault("since", timezone.localdate())

    def clean_since(self) -> Any:
        since = self.cleaned_data["since"]
        if since > timezone.localdate():
            raise forms.ValidationError(_("The date is in the future."))
        if since < EARLIEST:
            raise forms.ValidationError(_("The date is before 1900."))
        return since


class ResidentForm(ResidenceFields):
    """A new resident and their dwelling. Gender and date of birth may be left out when an ID
    number is given (they are read from it); when given, they must agree with it."""

    field_order = ["name", "id_number", "gender", "birth_date", "phone", "ethnicity", "notes"]

    name = forms.CharField(label=_("Name"), max_length=50)
    id_number = forms.CharField(label=_("ID number"), required=False, max_length=40)
    gender = forms.ChoiceField(
        label=_("Gender"), required=False, choices=[("", "—"), *Gender.choices]
    )
    birth_date = forms.DateField(
        label=_("Date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    phone = forms.CharField(label=_("Phone"), required=False, max_length=30)
    ethnicity = forms.CharField(label=_("Ethnicity"), required=False, max_length=20)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    confirm_new_person = forms.BooleanField(
        label=_("This is a different person from the possible duplicates shown"),
        required=False,
    )

    def clean_birth_date(self) -> Any:
        birth_date = self.cleaned_data["birth_date"]
        if birth_date is not None and birth_date < EARLIEST:
            raise forms.ValidationError(_("The date is before 1900."))
        return birth_date


class MoveOutForm(forms.Form):
    until = forms.DateField(label=_("Moved out on"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean_until(self) -> Any:
        until = self.cleaned_data["until"]
        if until > timezone.localdate():
            raise forms.ValidationError(_("The date is in the future."))
        return until


class UnmaskForm(forms.Form):
    field = forms.ChoiceField(
        label=_("Show"), choices=[("id_number", _("ID number")), ("phone", _("Phone"))]
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        help_text=_("Written to the audit log with your name and the time."),
    )


class CareTagForm(forms.Form):
    kind = forms.ChoiceField(label=_("Care tag"), choices=CareTagKind.choices)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=1000)


class CareTagRemoveForm(forms.Form):
    kind = forms.ChoiceField(choices=CareTagKind.choices)


class ExportForm(forms.Form):
    """The file format, and — only for an unmasked export, by a holder of
    ``people.unmask_resident`` — the reason written to the audit log."""

    format = forms.ChoiceField(
        label=_("Format"), choices=[("xlsx", "Excel (XLSX)"), ("csv", "CSV")], initial="xlsx"
    )
    reason = forms.CharField(
        label=_("Reason for an unmasked export"),
        required=False,
        max_length=500,
        help_text=_("Leave empty for masked ID and phone numbers."),
    )


# A dwelling's use: by hand, or back to what its residents give ("").
DERIVED_USE = ""


class DwellingUseForm(forms.Form):
    use = forms.ChoiceField(
        label=_("Use"),
        choices=[(DERIVED_USE, _("As its residents give it")), *DwellingUse.choices],
        required=False,
    )


class DwellingVerifyForm(forms.Form):
    method = forms.ChoiceField(label=_("How"), choices=VerificationMethod.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=200)
