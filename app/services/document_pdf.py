"""Typesetting of the printed documents: A4 PDFs with fpdf2 and an embedded Noto CJK font.

Input is already rendered text (see services/documents.py); this module only lays it out.
A document printed "一式N份" is N copies in one file, every page of copy k marked 第k份/共N份.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTCollection
from fpdf import FPDF
from fpdf.enums import Align, VAlign, WrapMode, XPos, YPos
from fpdf.fonts import FontFace

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
# Serif reads as an official document; Sans is the fallback. Debian: fonts-noto-cjk.
REGULAR_FONTS = ("NotoSerifCJK-Regular.ttc", "NotoSansCJK-Regular.ttc", "NotoSerifCJKsc-Regular.otf")
BOLD_FONTS = ("NotoSerifCJK-Bold.ttc", "NotoSansCJK-Bold.ttc", "NotoSerifCJKsc-Bold.otf")
FONT = "cjk"
INDENT = "\u3000\u3000"  # two full-width spaces: first-line indent of a Chinese paragraph
LABEL_STYLE = FontFace(emphasis="BOLD", fill_color=(242, 242, 242))
SECTION_STYLE = FontFace(emphasis="BOLD", fill_color=(225, 225, 225))


class FontMissingError(RuntimeError):
    """No Noto CJK font on this server: Chinese text cannot be embedded."""


@dataclass(frozen=True)
class FontFile:
    path: Path
    index: int  # face number inside a .ttc collection (the Simplified Chinese face)


@dataclass(frozen=True)
class Meta:
    """Document title, author (the unit) and the footer line printed on every page."""

    title: str
    author: str
    footer: str


@dataclass(frozen=True)
class TableRow:
    """A rendered row: a section heading, or cells alternating label and value."""

    section: str | None = None
    cells: tuple[str, ...] = ()
    height: float | None = None
    align: str = "left"
    valign: str = "middle"


@dataclass(frozen=True)
class TableLayout:
    columns: tuple[float, ...]
    rows: tuple[TableRow, ...]
    intro: str = ""
    notes: str = ""


def find_fonts() -> tuple[FontFile, FontFile]:
    """(regular, bold) Noto CJK fonts found under FONT_DIRS; bold falls back to regular."""
    return _fonts_under(tuple(FONT_DIRS))


@lru_cache(maxsize=4)
def _fonts_under(folders: tuple[Path, ...]) -> tuple[FontFile, FontFile]:
    regular = _find(REGULAR_FONTS, folders)
    if regular is None:
        raise FontMissingError(
            "服务器未安装中文字体（Noto CJK），无法生成 PDF。"
            "请安装 fonts-noto-cjk（Debian/Ubuntu：apt-get install fonts-noto-cjk）后重试。"
        )
    return regular, _find(BOLD_FONTS, folders) or regular


def _find(names: tuple[str, ...], folders: tuple[Path, ...]) -> FontFile | None:
    for name in names:
        for folder in folders:
            if not folder.is_dir():
                continue
            for path in sorted(folder.rglob(name)):
                return FontFile(path, _simplified_face(path))
    return None


def _simplified_face(path: Path) -> int:
    """Noto CJK collections hold JP, KR, SC, TC, HK faces; Simplified Chinese needs the SC one."""
    if path.suffix.lower() != ".ttc":
        return 0
    collection = TTCollection(str(path), lazy=True)
    try:
        for index, font in enumerate(collection.fonts):
            if " SC" in font["name"].getDebugName(4):
                return index
    finally:
        collection.close()
    return 0


class _Pdf(FPDF):
    def __init__(self, meta: Meta, fonts: tuple[FontFile, FontFile]) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        regular, bold = fonts
        self.add_font(FONT, "", str(regular.path), collection_font_number=regular.index)
        self.add_font(FONT, "B", str(bold.path), collection_font_number=bold.index)
        self.set_margins(22, 20, 22)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_title(meta.title)
        self.set_author(meta.author)
        self.set_creator("政务和公益机构网上名称办理平台")
        self.set_lang("zh-CN")
        self.meta = meta
        self.mark = ""

    def header(self) -> None:
        if not self.mark:
            return
        y = self.get_y()
        self.set_xy(self.l_margin, 9)
        self.set_font(FONT, "", 10)
        self.cell(0, 6, self.mark, align=Align.R)
        self.set_y(y)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(FONT, "", 8.5)
        self.set_text_color(110)
        self.cell(0, 5, self.meta.footer, align=Align.L)
        self.set_text_color(0)

    def paragraph(self, text: str, size: float, line: float, align: Align = Align.L, style: str = "") -> None:
        self.set_font(FONT, style, size)
        self.multi_cell(0, line, text, align=align, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def copies_of(pdf: _Pdf, copies: int) -> Iterator[int]:
    """Each copy starts on a new page marked 第k份/共N份 (no mark for a single copy)."""
    for number in range(1, copies + 1):
        pdf.mark = f"第{number}份/共{copies}份" if copies > 1 else ""
        pdf.add_page()
        yield number


def letter_pdf(meta: Meta, text: str, copies: int, fonts: tuple[FontFile, FontFile] | None = None) -> bytes:
    """A letter from its rendered text; line markup: `# ` title, `>> ` right, `| ` unindented, else paragraph."""
    pdf = _Pdf(meta, fonts or find_fonts())
    lines = text.splitlines()
    for _ in copies_of(pdf, copies):
        pdf.ln(8)
        for line in lines:
            _letter_line(pdf, line.rstrip())
    return bytes(pdf.output())


def _letter_line(pdf: _Pdf, line: str) -> None:
    if line.startswith("# "):
        pdf.paragraph(line[2:].strip(), 20, 11, Align.C, "B")
        pdf.ln(6)
    elif line.startswith(">> "):
        pdf.paragraph(line[3:].strip(), 14, 9, Align.R)
    elif line.startswith("| "):
        pdf.paragraph(line[2:].strip(), 14, 9)
    elif not line.strip():
        pdf.ln(4)
    else:
        pdf.paragraph(INDENT + line.strip(), 14, 9)


def table_pdf(meta: Meta, layout: TableLayout, copies: int, fonts: tuple[FontFile, FontFile] | None = None) -> bytes:
    """A bordered form: title, intro line, the table of rows, notes at the bottom; once per copy."""
    pdf = _Pdf(meta, fonts or find_fonts())
    for _ in copies_of(pdf, copies):
        pdf.ln(4)
        pdf.paragraph(meta.title, 17, 10, Align.C, "B")
        pdf.ln(2)
        if layout.intro:
            pdf.paragraph(layout.intro, 10, 6)
            pdf.ln(1)
        _table(pdf, layout)
        if layout.notes:
            pdf.ln(2)
            pdf.paragraph(layout.notes, 9.5, 5.5)
    return bytes(pdf.output())


def _table(pdf: _Pdf, layout: TableLayout) -> None:
    width = len(layout.columns)
    pdf.set_font(FONT, "", 10.5)
    with pdf.table(
        col_widths=layout.columns,
        width=pdf.epw,
        first_row_as_headings=False,
        line_height=6,
        text_align="LEFT",
        wrapmode=WrapMode.CHAR,
        padding=(1.2, 2),
        min_row_height=8,
    ) as table:
        for spec in layout.rows:
            if spec.section is not None:
                table.row(style=SECTION_STYLE).cell(spec.section, colspan=width, align=Align.C)
                continue
            row = table.row(min_height=spec.height, v_align=VAlign.coerce(spec.valign.upper()))
            for position, text in enumerate(spec.cells):
                span = width - position if position == len(spec.cells) - 1 else 1
                if position % 2 == 0:
                    row.cell(text, colspan=span, style=LABEL_STYLE, align=Align.C, v_align=VAlign.M)
                else:
                    row.cell(text, colspan=span, align=Align.coerce(spec.align.upper()))
