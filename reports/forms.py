"""Forms of the report pages: request a version, write the narrative."""

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from countries.models import Country
from reports.models import ReportNarrative, SummitReport
from reports.services import FIRST_YEAR, LAST_YEAR, narrative_text_check


class ReportRequestForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=FIRST_YEAR, max_value=LAST_YEAR)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    formats = forms.MultipleChoiceField(
        label=_("Files"),
        choices=SummitReport.Format.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=SummitReport.Format.values,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].initial = timezone.now().year - 1


class NewVersionForm(forms.Form):
    reuse_snapshot = forms.BooleanField(
        label=_("Reuse this version's frozen data (same numbers); leave unticked to read today's approved data"),
        required=False,
    )


def narrative_field_name(section: str, country: Country | None) -> str:
    return f"{section}_{country.iso2.lower()}" if country else section


class NarrativeForm(forms.Form):
    """One text box per section and one per state, pre-filled with the version's current text."""

    REGIONAL_SECTIONS = (
        ReportNarrative.Section.SUMMARY,
        ReportNarrative.Section.REGIONAL,
        ReportNarrative.Section.METHODS,
    )

    def __init__(self, *args, report: SummitReport, **kwargs):
        super().__init__(*args, **kwargs)
        existing = {(narrative.section, narrative.country_id): narrative.text for narrative in report.narratives.all()}
        self.targets: list[tuple[str, str, Country | None]] = []
        for section in self.REGIONAL_SECTIONS:
            self._add(section, None, ReportNarrative.Section(section).label, existing)
        for country in Country.objects.order_by("name_en"):
            label = _("State profile: %(country)s") % {"country": country.name}
            self._add(ReportNarrative.Section.COUNTRY, country, label, existing)

    def _add(self, section: str, country: Country | None, label, existing: dict) -> None:
        name = narrative_field_name(section, country)
        self.fields[name] = forms.CharField(
            label=label,
            required=False,
            max_length=20000,
            validators=[narrative_text_check],
            widget=forms.Textarea(attrs={"rows": 5}),
            initial=existing.get((section, country.pk if country else None), ""),
        )
        self.targets.append((name, section, country))
