"""Annual summit reports: one row per built version, with its frozen snapshot, its files and its narrative.

A report is for one year and one language. Each build is a new version; the snapshot (the approved data,
scores and alerts the report used, with their database ids) is stored with the version, so rebuilding
from the same snapshot gives the same numbers even after the database has changed. The latest ready
version of a year and language is the one to send (`is_current`); the database allows only one.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from countries.models import Country


def report_file_path(report: "SummitReport", filename: str) -> str:
    return f"reports/{report.year}/{report.language}/v{report.version}/{filename}"


class SummitReportQuerySet(models.QuerySet):
    def ready(self) -> "SummitReportQuerySet":
        return self.filter(status=SummitReport.Status.READY)

    def current(self) -> "SummitReportQuerySet":
        return self.filter(is_current=True)

    def for_edition(self, *, year: int, language: str) -> "SummitReportQuerySet":
        return self.filter(year=year, language=language)


class SummitReport(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft (narrative being written)")
        QUEUED = "queued", _("queued")
        BUILDING = "building", _("building")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        DOCX = "docx", _("Word (DOCX)")
        XLSX = "xlsx", _("Excel data annex (XLSX)")
        HTML = "html", "HTML"

    year = models.PositiveSmallIntegerField(_("year"))
    language = models.CharField(_("language"), max_length=7, choices=settings.LANGUAGES)
    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    failure_reason = models.TextField(_("reason of failure"), blank=True)
    formats = models.JSONField(_("formats"), default=list, help_text=_("Which files the build writes."))
    is_current = models.BooleanField(
        _("the version to send"), default=False, help_text=_("The latest ready version of its year and language.")
    )
    built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("built by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    snapshot_taken_at = models.DateTimeField(_("snapshot date"), null=True, blank=True)
    snapshot = models.JSONField(_("snapshot"), default=dict, blank=True, editable=False)
    snapshot_hash = models.CharField(_("snapshot fingerprint (SHA-256)"), max_length=64, blank=True, editable=False)
    snapshot_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rebuilds",
        verbose_name=_("snapshot reused from"),
        help_text=_("Rebuilt from the frozen data of this version instead of the database of today."),
    )
    pdf_file = models.FileField(_("PDF"), upload_to=report_file_path, blank=True)
    docx_file = models.FileField(_("Word"), upload_to=report_file_path, blank=True)
    xlsx_file = models.FileField(_("Excel"), upload_to=report_file_path, blank=True)
    html_file = models.FileField(_("HTML"), upload_to=report_file_path, blank=True)

    objects = SummitReportQuerySet.as_manager()

    class Meta:
        ordering = ["-year", "language", "-version"]
        verbose_name = _("summit report")
        verbose_name_plural = _("summit reports")
        constraints = [
            models.UniqueConstraint(fields=["year", "language", "version"], name="report_unique_version"),
            # Only one version of a year and language is the one to send.
            models.UniqueConstraint(
                fields=["year", "language"], condition=models.Q(is_current=True), name="report_one_current"
            ),
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="report_progress_percent"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.language} v{self.version} ({self.get_status_display()})"

    def file_for(self, file_format: str) -> models.fields.files.FieldFile | None:
        field = getattr(self, f"{file_format}_file", None)
        return field if field else None

    @property
    def available_files(self) -> list[tuple[str, models.fields.files.FieldFile]]:
        return [(code, self.file_for(code)) for code in self.Format.values if self.file_for(code)]

    @property
    def is_editable(self) -> bool:
        """Narrative can change until the build starts; a built version keeps the text it was built with."""
        return self.status in (self.Status.DRAFT, self.Status.FAILED)


class ReportNarrative(models.Model):
    """A paragraph an analyst writes for one section (or one state's profile) of one report version."""

    class Section(models.TextChoices):
        SUMMARY = "summary", _("Summary")
        REGIONAL = "regional", _("Regional picture")
        COUNTRY = "country", _("State profile")
        METHODS = "methods", _("Methods and sources")

    report = models.ForeignKey(SummitReport, on_delete=models.CASCADE, related_name="narratives")
    section = models.CharField(_("section"), max_length=20, choices=Section.choices)
    country = models.ForeignKey(
        Country, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("state")
    )
    text = models.TextField(_("text"), blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["report", "section", "country__name_en"]
        verbose_name = _("narrative paragraph")
        verbose_name_plural = _("narrative paragraphs")
        constraints = [
            # NULLs are distinct in SQL unique constraints, so the regional sections get their own rule.
            models.UniqueConstraint(
                fields=["report", "section"], condition=models.Q(country__isnull=True), name="narrative_one_regional"
            ),
            models.UniqueConstraint(
                fields=["report", "section", "country"],
                condition=models.Q(country__isnull=False),
                name="narrative_one_per_state",
            ),
            models.CheckConstraint(
                condition=(models.Q(section="country") & models.Q(country__isnull=False))
                | (~models.Q(section="country") & models.Q(country__isnull=True)),
                name="narrative_country_matches_section",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report} {self.section} {self.country or ''}".strip()
