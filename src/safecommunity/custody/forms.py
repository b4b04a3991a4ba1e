"""Validation of the custody pages' input. The rules (states, tags, scope, phones) live in
``custody.services``; these forms parse the fields and offer only what the user may choose."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from safecommunity.custody.models import ItemKind, ItemState
from safecommunity.custody.selectors import MAX_QUERY_LENGTH
from safecommunity.places.models import Beat

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


class BeatChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]  # generic in stubs only
    def label_from_instance(self, obj: Any) -> str:
        beat: Beat = obj
        return f"{beat.name} · {beat.office.name if beat.office else ''}"


def _beats(form: forms.Form, beats: QuerySet[Beat]) -> None:
    field = form.fields["beat"]
    assert isinstance(field, forms.ModelChoiceField)  # noqa: S101  # declared on the form
    field.queryset = beats


class FilterForm(forms.Form):
    STATES = [("", _("All states")), *ItemState.choices]

    state = forms.ChoiceField(label=_("State"), choices=STATES, required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("All kinds")), *ItemKind.choices], required=False
    )
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=MAX_QUERY_LENGTH,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Tag, owner or description")}
        ),
    )

    def __init__(self, *args: Any, names: bool = True, **kwargs: Any) -> None:
        """``names``: whether the user may see names, and so search by the owner's."""
        super().__init__(*args, **kwargs)
        if not names:
            self.fields["q"].widget.attrs["placeholder"] = _("Tag or description")


class ReceiveForm(forms.Form):
    beat = BeatChoiceField(label=_("Beat"), queryset=Beat.objects.none())
    kind = forms.ChoiceField(label=_("Kind"), choices=ItemKind.choices)
    description = forms.CharField(label=_("Description"), max_length=200)
    tag = forms.CharField(
        label=_("Tag number"),
        max_length=20,
        help_text=_("The number on the tag or envelope; unique among the items the office holds."),
    )
    owner = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    owner_name = forms.CharField(
        label=_("Owner (not in the registry)"),
        max_length=50,
        required=False,
        help_text=_("Leave empty when the owner is chosen from the registry."),
    )
    owner_phone = forms.CharField(label=_("Owner's phone"), max_length=32, required=False)
    received_at = forms.DateTimeField(
        label=_("Received at"),
        required=False,
        widget=DATETIME_INPUT,
        input_formats=DATETIME_FORMATS,
        help_text=_("Leave empty for now."),
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, beats: QuerySet[Beat], **kwargs: Any) -> None:
        """``beats`` are the beats in the user's scope with an office: nothing else."""
        super().__init__(*args, **kwargs)
        _beats(self, beats)


class ReturnForm(forms.Form):
    returned_to = forms.CharField(
        label=_("Collected by"),
        max_length=50,
        help_text=_("The name of the person who collected it."),
    )
    identity_check = forms.CharField(
        label=_("Identity check"),
        max_length=200,
        help_text=_("How their identity or authority was checked (ID card seen, …)."),
    )
    at = forms.DateTimeField(
        label=_("Returned at"),
        required=False,
        widget=DATETIME_INPUT,
        input_formats=DATETIME_FORMATS,
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class TransferForm(forms.Form):
    beat = BeatChoiceField(label=_("To beat"), queryset=Beat.objects.none())
    tag = forms.CharField(
        label=_("New tag number"),
        max_length=20,
        required=False,
        help_text=_("Leave empty to keep the tag."),
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, beats: QuerySet[Beat], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _beats(self, beats)


class DisposeForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class CheckForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
