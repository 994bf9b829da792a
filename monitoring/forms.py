"""Forms of the data-entry pages. They only parse what a person typed; the rules live in the services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from monitoring.models import Indicator

REASON_MAX_LENGTH = 2000


class PeriodEntryForm(forms.Form):
    """One field per indicator (`value_<code>`) and its comment (`comment_<code>`): the DHIS2 entry screen."""

    def __init__(self, *args, indicators: list[Indicator], locked_codes: set[str] = frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self.indicators = indicators
        for indicator in indicators:
            readonly = indicator.code in locked_codes
            attrs = {
                "class": "entry-value",
                "inputmode": "decimal",
                "data-indicator": indicator.code,
                "aria-label": f"{indicator.name} ({indicator.unit})",
                "step": "any",
            }
            if readonly:
                attrs["readonly"] = "readonly"
            self.fields[f"value_{indicator.code}"] = forms.FloatField(
                required=False, label=indicator.name, widget=forms.NumberInput(attrs=attrs), disabled=readonly
            )
            self.fields[f"comment_{indicator.code}"] = forms.CharField(
                required=False,
                max_length=1000,
                label=_("Comment"),
                widget=forms.TextInput(
                    attrs={
                        "class": "entry-comment",
                        "aria-label": _("Comment on %(code)s") % {"code": indicator.code},
                        **({"readonly": "readonly"} if readonly else {}),
                    }
                ),
                disabled=readonly,
            )

    def changed_values(self, current: dict[str, tuple[float, str]]) -> list[tuple[Indicator, float, str]]:
        """(indicator, value, comment) for every filled field that differs from `current` (code -> value, comment)."""
        changes = []
        for indicator in self.indicators:
            field = f"value_{indicator.code}"
            if self.fields[field].disabled:
                continue
            value = self.cleaned_data.get(field)
            comment = (self.cleaned_data.get(f"comment_{indicator.code}") or "").strip()
            if value is None:
                continue
            if current.get(indicator.code) != (value, comment):
                changes.append((indicator, value, comment))
        return changes


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Give a reason: it is recorded and shown to the clerk.")},
    )
