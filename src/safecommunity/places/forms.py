"""Validation of the places pages' query parameters."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class PointForm(forms.Form):
    """A WGS-84 point; NaN and infinities are refused along with out-of-range values."""

    lat = forms.FloatField(label=_("Latitude"), min_value=-90, max_value=90)
    lng = forms.FloatField(label=_("Longitude"), min_value=-180, max_value=180)


class BoundaryFileForm(forms.Form):
    """A GeoJSON FeatureCollection to import (see ``places.services.boundaries_import``)."""

    # Large enough for a city's grids at full precision; larger files go through the CLI.
    MAX_BYTES = 50 * 1024 * 1024

    file = forms.FileField(label=_("GeoJSON file"))

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB; use the import-boundaries command.")
                % {"mb": self.MAX_BYTES // (1024 * 1024)}
            )
        data: bytes = upload.read()
        return data
