"""Files people upload that end up inside our PDFs (receipts, logos), made safe to embed.

Images must be PNG or JPEG by content (Pillow reads the header; the name and the browser's
content type are the uploader's claims) and bounded in pixels and decoded size: a small PNG
can decode to gigabytes (a 12000 x 12000 PNG of 434 KB took the renderer to 1.2 GB). SVG is
refused: it can fetch URLs and embed local files.

PDFs are rebuilt page by page before they join a document a customer opens: only the pages'
content survives, not the document's JavaScript, open actions, page actions (/AA),
annotations (links, form widgets, file attachments), forms or embedded files.
"""

from __future__ import annotations

import io
import logging
import warnings

from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from pypdf.generic import NameObject

log = logging.getLogger(__name__)

IMAGE_FORMATS = {"PNG": "png", "JPEG": "jpeg"}
# 40 megapixels (a 48 MP phone photo is saved at 12 MP by default) and what it decodes to.
MAX_IMAGE_PIXELS = 40_000_000
MAX_DECODED_BYTES = 160 * 1024 * 1024
MAX_PDF_PAGES = 50
# What a page may carry into our document; everything else (/AA actions, /Annots) is dropped.
PAGE_KEYS = frozenset(
    {"/Type", "/Parent", "/Resources", "/MediaBox", "/CropBox", "/BleedBox", "/TrimBox",
     "/ArtBox", "/Contents", "/Rotate", "/UserUnit"}
)  # fmt: skip


class DocumentRefused(ValueError):
    """The file is not one we embed; the message says why, for the person who uploaded it."""


def image_check(data: bytes, *, max_pixels: int = MAX_IMAGE_PIXELS) -> str:
    """ "png" or "jpeg" for a well-formed raster image within the bounds; DocumentRefused
    otherwise. Reads the header and checks the structure; never decodes the pixels."""
    try:
        with warnings.catch_warnings():
            # Pillow warns of large images; the bounds below are ours and stricter.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind, (width, height) = image.format, image.size
                bands = len(image.getbands())
                image.verify()  # the structure (chunks, checksums), without decoding pixels
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as exc:
        raise DocumentRefused("Only PNG or JPEG images are accepted (checked by content).") from exc
    if kind not in IMAGE_FORMATS:
        raise DocumentRefused("Only PNG or JPEG images are accepted (checked by content).")
    if width * height > max_pixels or width * height * max(bands, 1) > MAX_DECODED_BYTES:
        raise DocumentRefused(
            f"The image is {width} x {height} pixels; at most {max_pixels // 1_000_000} "
            "megapixels are accepted. Please scale it down."
        )
    return IMAGE_FORMATS[kind]


def pdf_sanitise(data: bytes) -> bytes:
    """The PDF's pages with their content only (see the module's doc); DocumentRefused if it
    cannot be read or has more than MAX_PDF_PAGES pages."""
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted or len(reader.pages) > MAX_PDF_PAGES:
            raise DocumentRefused(f"Only unencrypted PDFs of at most {MAX_PDF_PAGES} pages.")
        writer = PdfWriter()
        for source in reader.pages:
            page = writer.add_page(source)
            for key in [k for k in page if k not in PAGE_KEYS]:
                del page[NameObject(key)]
        out = io.BytesIO()
        writer.write(out)
    except (PyPdfError, ValueError, LookupError, OSError, RecursionError) as exc:
        if isinstance(exc, DocumentRefused):
            raise
        raise DocumentRefused("The PDF could not be read.") from exc
    return out.getvalue()
