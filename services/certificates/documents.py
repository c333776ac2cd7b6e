"""The certificate PDF (FEATURES I7; DESIGN §5–6; RULES "Certificates").

Rules owned here:
- One wkhtmltopdf process renders a chunk of certificates (up to CHUNK) as one document, one page each, and the
  document is split into one PDF per certificate (pdf_pages copies each page's objects; pypdf for any other
  form of PDF): ≈6 ms a certificate, where a process per certificate costs ≈300 ms.
- wkhtmltopdf runs with local file access off except the template's own folder; the QR code (segno) and the
  issuing unit's seal are embedded as data URIs, so the page needs no file and no network.
- The QR code carries the public verification address `/verify/<code>` with the certificate's unguessable code.
- Fonts: Noto CJK (Debian's fonts-noto-cjk).
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2
import pdfkit
import segno
from pypdf import PdfReader, PdfWriter

from services.certificates import pdf_pages

TEMPLATE_DIR = Path(__file__).resolve().parent / "template"
CHUNK = 100
_OPTIONS = {
    "page-size": "A4", "orientation": "Landscape", "encoding": "UTF-8", "quiet": "",
    "margin-top": "0", "margin-bottom": "0", "margin-left": "0", "margin-right": "0",
    "disable-local-file-access": "", "allow": str(TEMPLATE_DIR), "disable-javascript": "",
    "load-error-handling": "ignore", "load-media-error-handling": "ignore",
}


@dataclass(frozen=True)
class CertificatePage:
    """Everything one certificate page prints (RULES "Certificates")."""

    number: str
    name: str
    gender: str
    birth_month: str
    id_type: str
    id_number: str
    work_unit: str
    series_name: str
    specialty_name: str
    title_name: str
    level_name: str
    qualified_on: str
    committee_name: str
    approval_no: str
    issuer_name: str
    issued_on: str
    verify_url: str
    seal_uri: str = ""
    license_id: str = ""  # 电子证照标识 (services.certificates.electronic_license)

    @property
    def qr_uri(self) -> str:
        return qr_data_uri(self.verify_url)


_QR_BORDER = 2
_DARK_RUN = re.compile(b"\x01+")


def qr_data_uri(url: str) -> str:
    # A fixed mask: choosing the best of eight costs ≈8 ms a code, more than the certificate's share of the PDF;
    # any mask reads the same. SVG: no PNG compression, and the code stays sharp at any zoom.
    return qr_svg_uri(segno.make(url, error="m", mask=0).matrix)


def qr_svg_uri(matrix: Sequence[bytes | bytearray]) -> str:
    """The QR matrix as segno draws it (one stroke of width 1 along each row's run of dark modules, a quiet zone
    of _QR_BORDER), written with a regular expression over each row: segno's own SVG writer walks the modules
    one by one in Python and cost as much as encoding the code (≈0.5 ms of a certificate's ≈6 ms, issue 17)."""
    size = len(matrix) + 2 * _QR_BORDER
    path = "".join(f"M{run.start() + _QR_BORDER} {y}.5h{run.end() - run.start()}"
                   for y, row in enumerate(matrix, start=_QR_BORDER) for run in _DARK_RUN.finditer(row))
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}">'
           f'<path stroke="#000" d="{path}"/></svg>')
    return image_data_uri(svg.encode(), "image/svg+xml")


def image_data_uri(content: bytes, mimetype: str) -> str:
    return f"data:{mimetype};base64,{base64.b64encode(content).decode()}"


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True)
    return environment.get_template("certificate.html")


def document_html(pages: Sequence[CertificatePage]) -> str:
    return _template().render(certificates=pages)


def render_document(html: str) -> bytes:
    """One wkhtmltopdf process for the whole HTML document."""
    return bytes(pdfkit.from_string(html, False, options=_OPTIONS))


def split_pages(document: bytes, expected: int) -> list[bytes]:
    copied = pdf_pages.split(document)  # wkhtmltopdf's plain PDF: the pages' objects copied (≈10× faster)
    if copied is not None:
        if len(copied) != expected:
            raise RuntimeError(f"证书 PDF 页数不符：应为 {expected} 页，实际 {len(copied)} 页")
        return copied
    reader = PdfReader(io.BytesIO(document))
    if len(reader.pages) != expected:
        raise RuntimeError(f"证书 PDF 页数不符：应为 {expected} 页，实际 {len(reader.pages)} 页")
    parts = []
    for page in reader.pages:
        writer = PdfWriter()
        writer.add_page(page)
        out = io.BytesIO()
        writer.write(out)
        parts.append(out.getvalue())
    return parts


def render_pdfs(pages: Sequence[CertificatePage]) -> list[bytes]:
    """One PDF per certificate, in order; one wkhtmltopdf process per CHUNK certificates."""
    pdfs: list[bytes] = []
    for start in range(0, len(pages), CHUNK):
        chunk = pages[start:start + CHUNK]
        pdfs.extend(split_pages(render_document(document_html(chunk)), len(chunk)))
    return pdfs


# A4 portrait pages with margins for documents that flow over several pages (the 评审表, services.certificates.
# review_forms), under the same restrictions as the certificates (no local files but the template's folder).
_PORTRAIT = {"orientation": "Portrait", "margin-top": "12mm", "margin-bottom": "12mm", "margin-left": "12mm",
             "margin-right": "12mm"}


def render_portrait(html: str) -> bytes:
    return bytes(pdfkit.from_string(html, False, options={**_OPTIONS, **_PORTRAIT}))
