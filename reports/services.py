"""Every write of the summit report: request a version, build it, write its narrative.

The build runs snapshot -> contents -> renderers: `snapshot.snapshot_take` freezes the approved data (or a
stored snapshot is reused), `contents.report_contents` computes the sections from it alone, and each
renderer turns the same contents into its file. All files are rendered in memory first and saved only when
every one succeeded, so a failed build leaves no half-written version; the previous ready version stays
the current one and stays downloadable.
"""

import logging
import re
from collections.abc import Callable

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from countries.models import Country
from monitoring.permissions import is_analyst
from reports import charts
from reports.contents import ReportContents, report_contents
from reports.models import ReportNarrative, SummitReport
from reports.renderers.docx import render_docx
from reports.renderers.html import render_html
from reports.renderers.pdf import render_pdf
from reports.renderers.xlsx import render_xlsx
from reports.snapshot import snapshot_fingerprint, snapshot_take

logger = logging.getLogger(__name__)

# Characters XML 1.0 cannot hold (DOCX and XLSX are XML): a narrative with one made the build fail.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
ALL_FORMATS = [SummitReport.Format.PDF, SummitReport.Format.DOCX, SummitReport.Format.XLSX, SummitReport.Format.HTML]
FIRST_YEAR, LAST_YEAR = 1990, 2100


def report_create(
    *,
    year: int,
    language: str,
    user=None,
    formats: list[str] | None = None,
    snapshot_from: SummitReport | None = None,
    check_permission: bool = True,
) -> SummitReport:
    """A new draft version of the year's report in `language`. The analyst's narrative of the latest
    version of the same year and language is copied into it, so text written once is kept.
    `snapshot_from` reuses that version's frozen data instead of today's database."""
    if check_permission and not is_analyst(user):
        raise PermissionDenied(_("Only regional analysts build summit reports."))
    formats = list(formats or ALL_FORMATS)
    errors = {}
    if not FIRST_YEAR <= int(year) <= LAST_YEAR:
        errors["year"] = _("The year must be between %(first)s and %(last)s.") % {
            "first": FIRST_YEAR,
            "last": LAST_YEAR,
        }
    if language not in dict(SummitReport._meta.get_field("language").choices):
        errors["language"] = _("“%(language)s” is not a language of the product.") % {"language": language}
    unknown = sorted(set(formats) - set(SummitReport.Format.values))
    if unknown:
        errors["formats"] = _("Unknown format(s): %(formats)s.") % {"formats": ", ".join(unknown)}
    if snapshot_from is not None and (snapshot_from.year != int(year) or not snapshot_from.snapshot):
        errors["snapshot_from"] = _("That version has no snapshot of the year %(year)s.") % {"year": year}
    if errors:
        raise ValidationError(errors)

    for _attempt in range(3):  # two requests may pick the same next version number; the constraint decides
        try:
            with transaction.atomic():
                return _create_version(
                    year=int(year), language=language, user=user, formats=formats, snapshot_from=snapshot_from
                )
        except IntegrityError:
            continue
    raise ValidationError(_("Another version of this report was created at the same moment; please try again."))


def _create_version(*, year, language, user, formats, snapshot_from) -> SummitReport:
    edition = SummitReport.objects.for_edition(year=year, language=language)
    latest = edition.order_by("-version").first()
    version = (edition.aggregate(highest=Max("version"))["highest"] or 0) + 1
    report = SummitReport(
        year=year,
        language=language,
        version=version,
        status=SummitReport.Status.DRAFT,
        formats=formats,
        built_by=user if getattr(user, "is_authenticated", False) else None,
        snapshot_from=snapshot_from,
    )
    if snapshot_from is not None:
        report.snapshot = snapshot_from.snapshot
        report.snapshot_hash = snapshot_from.snapshot_hash
        report.snapshot_taken_at = snapshot_from.snapshot_taken_at
    report.full_clean()
    report.save()
    if latest is not None:
        ReportNarrative.objects.bulk_create(
            ReportNarrative(
                report=report,
                section=narrative.section,
                country_id=narrative.country_id,
                text=narrative.text,
                updated_by=narrative.updated_by,
            )  # fmt: skip
            for narrative in latest.narratives.all()
        )
    return report


def report_enqueue(*, report: SummitReport, user=None, check_permission: bool = True) -> SummitReport:
    """Queue the build of a draft (or a failed) version; the Celery task starts after the commit."""
    from reports.tasks import report_build_task

    if check_permission and not is_analyst(user):
        raise PermissionDenied(_("Only regional analysts build summit reports."))
    with transaction.atomic():
        report = SummitReport.objects.select_for_update().get(pk=report.pk)
        if report.status not in (SummitReport.Status.DRAFT, SummitReport.Status.FAILED):
            raise ValidationError(_("This version is already %(status)s.") % {"status": report.get_status_display()})
        report.status = SummitReport.Status.QUEUED
        report.progress = 0
        report.failure_reason = ""
        report.save(update_fields=["status", "progress", "failure_reason"])
        report_id = report.pk
        transaction.on_commit(lambda: report_build_task.delay(report_id))
    return report


def report_build(*, report_id: int) -> SummitReport:
    """Build a queued version: freeze the data (unless reused), compute the contents, render every format,
    save the files and make it the current version. Safe to run twice: a version that is ready or failed
    is left as it is."""
    with transaction.atomic():
        report = SummitReport.objects.select_for_update().get(pk=report_id)
        if report.status not in (SummitReport.Status.QUEUED, SummitReport.Status.BUILDING):
            return report
        report.status = SummitReport.Status.BUILDING
        report.started_at = timezone.now()
        report.progress = 5
        report.save(update_fields=["status", "started_at", "progress"])

    def progress(percent: int) -> None:
        SummitReport.objects.filter(pk=report.pk).update(progress=percent)

    try:
        rendered = _render(report, progress)
    # The boundary of a background job: whatever went wrong (a chart that cannot be drawn, a missing
    # system library, a bug), the version must end as "failed" with the reason, never stay "building".
    except Exception as error:
        logger.exception("Summit report %s failed", report.pk)
        SummitReport.objects.filter(pk=report.pk).update(
            status=SummitReport.Status.FAILED,
            failure_reason=f"{type(error).__name__}: {error}"[:2000],
            finished_at=timezone.now(),
        )
        report.refresh_from_db()
        return report

    with transaction.atomic():
        report = SummitReport.objects.select_for_update().get(pk=report.pk)
        base_name = f"summit-report-{report.year}-{report.language}-v{report.version}"
        for file_format, content in rendered.items():
            getattr(report, f"{file_format}_file").save(f"{base_name}.{file_format}", ContentFile(content), save=False)
        report.status = SummitReport.Status.READY
        report.progress = 100
        report.finished_at = timezone.now()
        SummitReport.objects.for_edition(year=report.year, language=report.language).current().exclude(
            pk=report.pk
        ).update(is_current=False)
        report.is_current = True
        report.save()
    return report


def _render(report: SummitReport, progress: Callable[[int], None]) -> dict[str, bytes]:
    if not report.snapshot:
        snapshot = snapshot_take(year=report.year, language=report.language)
        SummitReport.objects.filter(pk=report.pk).update(
            snapshot=snapshot,
            snapshot_hash=snapshot_fingerprint(snapshot),
            snapshot_taken_at=snapshot["taken_at"],
            progress=15,
        )
        report.refresh_from_db()
    narratives = {
        (narrative.section, narrative.country.iso2 if narrative.country_id else ""): narrative.text
        for narrative in report.narratives.select_related("country")
    }
    rendered: dict[str, bytes] = {}
    with translation.override(report.language):
        contents = report_contents(
            snapshot=report.snapshot, language=report.language, version=report.version, narratives=narratives
        )
        progress(25)
        if {SummitReport.Format.HTML, SummitReport.Format.PDF} & set(report.formats):
            _draw_print_charts(contents)
            progress(40)
            document = render_html(contents)
            if SummitReport.Format.HTML in report.formats:
                rendered["html"] = document.encode("utf-8")
            if SummitReport.Format.PDF in report.formats:
                rendered["pdf"] = render_pdf(document)
                progress(70)
        if SummitReport.Format.DOCX in report.formats:
            word_charts = {chart.key: charts.word_svg_and_png(chart.spec) for chart in contents.charts()}
            rendered["docx"] = render_docx(contents, word_charts)
            progress(85)
        if SummitReport.Format.XLSX in report.formats:
            rendered["xlsx"] = render_xlsx(contents)
            progress(95)
    return rendered


def _draw_print_charts(contents: ReportContents) -> None:
    for chart in contents.charts():
        chart.svg = charts.print_svg(chart.spec)


def report_contents_for(report: SummitReport) -> ReportContents:
    """The contents of a version from its snapshot (for previews and tests), without drawing charts."""
    narratives = {
        (narrative.section, narrative.country.iso2 if narrative.country_id else ""): narrative.text
        for narrative in report.narratives.select_related("country")
    }
    snapshot = report.snapshot or snapshot_take(year=report.year, language=report.language)
    with translation.override(report.language):
        return report_contents(
            snapshot=snapshot, language=report.language, version=report.version, narratives=narratives
        )


def narrative_text_check(text: str) -> None:
    """Refuse a paragraph the report files cannot hold (a control character pasted from another program)."""
    if found := CONTROL_CHARACTERS.search(text):
        raise ValidationError(
            _("The text holds a control character (such as U+%(code)04X) that a report file cannot hold; remove it.")
            % {"code": ord(found.group())}
        )


def report_narrative_save(
    *, report: SummitReport, section: str, country: Country | None = None, text: str, user
) -> ReportNarrative:
    """Write the analyst's paragraph for one section (or one state's profile) of a version not yet built."""
    if not is_analyst(user):
        raise PermissionDenied(_("Only regional analysts write the report's narrative."))
    if not report.is_editable:
        raise ValidationError(
            _("Version %(version)s is %(status)s; its text is kept as it was built. Start a new version to change it.")
            % {"version": report.version, "status": report.get_status_display()}
        )
    if section not in ReportNarrative.Section.values:
        raise ValidationError({"section": _("Unknown section “%(section)s”.") % {"section": section}})
    if (section == ReportNarrative.Section.COUNTRY) != (country is not None):
        raise ValidationError({"country": _("A state's profile needs its state; other sections have none.")})
    narrative_text_check(text)
    with transaction.atomic():
        narrative, _created = ReportNarrative.objects.select_for_update().get_or_create(
            report=report, section=section, country=country, defaults={"text": text, "updated_by": user}
        )
        narrative.text = text
        narrative.updated_by = user
        narrative.full_clean()
        narrative.save(update_fields=["text", "updated_by", "updated_at"])
    return narrative
