"""The report as PDF, drawn by WeasyPrint from the HTML document with the repository's fonts."""

import logging

from reports.charts import FONTS_DIR

# WeasyPrint logs every layout step at INFO; the build reports its own progress.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def render_pdf(document: str) -> bytes:
    # Imported here: WeasyPrint needs the Pango system libraries, and the rest of the product must start
    # (and say why the PDF failed) on a machine without them.
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    return HTML(string=document, base_url=str(FONTS_DIR)).write_pdf(font_config=font_config)
