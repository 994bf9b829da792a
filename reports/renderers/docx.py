"""The report as an editable Word document (python-docx), so the secretariat can add its own text.

Charts go in as vector SVG, which Word 2016 and later draw (the `asvg:svgBlip` extension Word itself
writes), with a PNG of the same drawing as the picture older versions show. python-docx has no API for
SVG, so `_add_svg_chart` adds the part and the extension element to the picture python-docx inserted.
The table of contents and the page numbers are Word fields; Word fills them in when the file is opened.
"""

from io import BytesIO

from django.utils.translation import gettext as _
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from reports.charts import LEVEL_COLOURS
from reports.contents import Chart, Paragraph, ReportContents, Section, Table
from reports.formatting import LevelCell, Number, format_cell
from reports.templatetags.report_tags import paragraphs

SVG_EXTENSION_URI = "{96DAC541-7B7A-43D3-8B79-37D633B846F1}"
SVG_NAMESPACE = "http://schemas.microsoft.com/office/drawing/2016/SVG/main"
CHART_WIDTH = Cm(16)


def render_docx(contents: ReportContents, word_charts: dict[str, tuple[str, bytes]]) -> bytes:
    """`word_charts` maps a chart's key to its (SVG, PNG) for Word (`reports.charts.word_svg_and_png`)."""
    document = Document()
    document.core_properties.title = contents.title
    document.core_properties.language = contents.language
    normal = document.styles["Normal"]
    normal.font.size = Pt(10)
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(2)
    _add_page_number_footer(section)

    document.add_heading(contents.title, level=0)
    document.add_paragraph(contents.subtitle)
    document.add_paragraph(
        _("Version %(version)s. Built from the approved data as of %(date)s.")
        % {"version": contents.version, "date": contents.snapshot_taken_at[:10]}
    )
    document.add_heading(_("Contents"), level=1)
    _add_field(document.add_paragraph(), 'TOC \\o "1-2" \\h \\z \\u', _("Right-click and choose “Update field”."))
    _ask_word_to_update_fields(document)

    for depth, report_section in contents.walk():
        if depth == 1:
            document.add_page_break()
        _add_section(document, report_section, depth, contents.language, word_charts)

    buffer = BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _add_section(document, section: Section, depth: int, language: str, word_charts: dict) -> None:
    document.add_heading(section.title, level=depth)
    for paragraph in paragraphs(section.narrative):
        document.add_paragraph(paragraph, style="Intense Quote")
    for bullet in section.bullets:
        document.add_paragraph(bullet, style="List Bullet")
    for block in section.blocks:
        if isinstance(block, Paragraph):
            document.add_paragraph(block.text)
        elif isinstance(block, Chart):
            svg, png = word_charts[block.key]
            _add_svg_chart(document, svg, png)
            caption = document.add_paragraph(block.title, style="Caption")
            caption.alignment = WD_ALIGN_PARAGRAPH.LEFT
        else:
            _add_table(document, block, language)


def _add_table(document, table: Table, language: str) -> None:
    document.add_paragraph(table.title, style="Caption")
    word_table = document.add_table(rows=1, cols=len(table.columns))
    word_table.style = "Table Grid"
    for cell, column in zip(word_table.rows[0].cells, table.columns, strict=True):
        cell.text = column
        for run in cell.paragraphs[0].runs:
            run.font.bold = True
    _repeat_as_header(word_table.rows[0])
    if not table.rows:
        word_table.add_row().cells[0].text = _("Nothing to show.")
    for row in table.rows:
        cells = word_table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = format_cell(value, language)
            if isinstance(value, Number | int | float) and not isinstance(value, bool):
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
            if isinstance(value, LevelCell):
                _shade(cell, LEVEL_COLOURS[value.level])
    for row in word_table.rows:
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(8)
    if table.note:
        note = document.add_paragraph(table.note)
        for run in note.runs:
            run.font.size = Pt(8)
            run.font.italic = True


def _add_svg_chart(document, svg: str, png: bytes) -> None:
    run = document.add_paragraph().add_run()
    inline_shape = run.add_picture(BytesIO(png), width=CHART_WIDTH)
    package = document.part.package
    svg_part = Part(
        PackURI(package.next_partname("/word/media/chart%d.svg")), "image/svg+xml", svg.encode("utf-8"), package
    )
    relationship_id = document.part.relate_to(svg_part, RELATIONSHIP_TYPE.IMAGE)
    blip = inline_shape._inline.graphic.graphicData.pic.blipFill.blip
    extension_list = OxmlElement("a:extLst")
    extension = OxmlElement("a:ext")
    extension.set("uri", SVG_EXTENSION_URI)
    svg_blip = extension.makeelement(f"{{{SVG_NAMESPACE}}}svgBlip", nsmap={"asvg": SVG_NAMESPACE})
    svg_blip.set(qn("r:embed"), relationship_id)
    extension.append(svg_blip)
    extension_list.append(extension)
    blip.append(extension_list)


def _shade(cell, colour: str) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), colour.lstrip("#"))
    cell._tc.get_or_add_tcPr().append(shading)


def _repeat_as_header(row) -> None:
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(header)


def _add_field(paragraph, instruction: str, placeholder: str) -> None:
    def char(kind: str):
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        return element

    run = paragraph.add_run()
    run._r.append(char("begin"))
    text = OxmlElement("w:instrText")
    text.set(qn("xml:space"), "preserve")
    text.text = instruction
    run._r.append(text)
    run._r.append(char("separate"))
    paragraph.add_run(placeholder)
    paragraph.add_run()._r.append(char("end"))


def _add_page_number_footer(section) -> None:
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _add_field(paragraph, "PAGE", "1")


def _ask_word_to_update_fields(document) -> None:
    settings = document.settings.element
    update = OxmlElement("w:updateFields")
    update.set(qn("w:val"), "true")
    settings.append(update)
