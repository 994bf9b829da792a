"""Forms of the dashboard pages: the alert filters and the acknowledge/resolve note."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from countries.models import Country
from monitoring.alerts.models import Alert, Level, Method
from monitoring.models import Pillar
from monitoring.periods import parse_period

NOTE_MAX_LENGTH = 2000


def _any(choices) -> list[tuple[str, str]]:
    return [("", _("all")), *choices]


class AlertFilterForm(forms.Form):
    """Every filter is optional; one that does not parse is reported and ignored, never a 500."""

    country = forms.ModelChoiceField(
        label=_("State"),
        queryset=Country.objects.order_by("name_en"),
        to_field_name="iso2",
        required=False,
        empty_label=_("all"),
    )
    pillar = forms.ChoiceField(label=_("Pillar"), choices=_any(Pillar.choices), required=False)
    level = forms.TypedChoiceField(
        label=_("Level"),
        choices=_any([(str(value), label) for value, label in Level.choices]),
        coerce=int,
        empty_value=None,
        required=False,
    )
    method = forms.ChoiceField(label=_("Method"), choices=_any(Method.choices), required=False)
    status = forms.ChoiceField(label=_("Status"), choices=_any(Alert.Status.choices), required=False)
    period = forms.CharField(
        label=_("Period"),
        required=False,
        max_length=7,
        help_text=_("YYYY, YYYY-Qn or YYYY-MM; a year matches all its months."),
    )

    def clean_country(self) -> Country | None:
        return self.cleaned_data.get("country")

    def clean_period(self) -> str:
        text = (self.cleaned_data.get("period") or "").strip()
        if not text:
            return ""
        try:
            return parse_period(text).text
        except ValidationError as error:
            raise ValidationError(error.messages) from None

    def filters(self) -> dict:
        """The valid filters only (an invalid one is shown as an error and left out)."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {
            "country": cleaned.get("country"),
            "pillar": cleaned.get("pillar") or "",
            "level": cleaned.get("level"),
            "method": cleaned.get("method") or "",
            "status": cleaned.get("status") or "",
            "period": cleaned.get("period") or "",
        }


class AlertNoteForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), max_length=NOTE_MAX_LENGTH, required=False
    )
