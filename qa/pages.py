"""A cited PDF answer shown where it stands: the page rendered, the answer's characters boxed, the quote shaded.

Offsets stay the single truth: the boxes are those of the PDF characters that the answer's and
the quote's article offsets name (through :func:`index.pdf.page_characters`), so what is boxed
is what is cited. Pages are rendered on demand with PDFium and cached (a few per process);
drawing the highlight on a cached page takes milliseconds.

Example::

    shown = PageRenderer().highlight(engine.store, answer)
    if shown:
        print(shown.path, shown.page, shown.boxed_text)
"""

from __future__ import annotations

import functools
import hashlib
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from index.pdf import page_characters
from qa.types import Answer

SCALE = 2.0
"""Pixels per PDF point (144 dpi): small print stays readable in the chat."""
CONTEXT_POINTS = 110
"""The image shows the page's full width, from this far above the quote to this far below it (in points), so
that the chat shows it at a readable size; ``crop=False`` keeps the whole page."""
ANSWER_OUTLINE = (214, 40, 40)
QUOTE_SHADE = (255, 214, 0, 96)
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class PageHighlight:
    """A rendered page with the answer boxed: the PNG, the page (1-based), and what the boxes cover.

    ``boxed_text`` is the PDF's own characters under the answer's boxes (separators between lines left
    out), so that a reader of the image sees exactly the cited span.
    """

    path: Path
    page: int
    answer_boxes: tuple[Box, ...]
    quote_boxes: tuple[Box, ...]
    boxed_text: str
    top: float = 0.0
    """Where the image starts on the rendered page, in pixels (boxes are in page pixels)."""


@functools.lru_cache(maxsize=8)
def _page(path: str, modified: int, page: int):
    """The page's characters and its rendering (cached per file version and page)."""
    import pypdfium2 as pdfium

    characters = page_characters(Path(path), page)
    document = pdfium.PdfDocument(path)
    try:
        image = document[page - 1].render(scale=SCALE).to_pil().convert("RGB")
    finally:
        document.close()
    return characters, image


def _line_boxes(indices: list[int], boxes, height: float) -> list[Box]:
    """The characters' boxes merged into one rectangle per line, in image pixels ``(left, top, right, bottom)``."""
    merged: list[list[float]] = []
    for index in indices:
        left, bottom, right, top = boxes[index]
        if right <= left:
            continue
        if merged and bottom < merged[-1][1] and top > merged[-1][3] and left >= merged[-1][0]:  # on the same line
            line = merged[-1]
            line[1], line[2], line[3] = max(line[1], top), max(line[2], right), min(line[3], bottom)
        else:
            merged.append([left, top, right, bottom])
    return [
        ((left - 1) * SCALE, (height - top - 1) * SCALE, (right + 1) * SCALE, (height - bottom + 1) * SCALE)
        for left, top, right, bottom in merged
    ]


class PageRenderer:
    """Renders the page of an answer's first citation with the answer boxed; PNGs go to ``folder``.

    Args:
        folder: where the PNGs are written (default: a temporary folder of this process).
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._lock = threading.Lock()

    def highlight(self, store, answer: Answer, crop: bool = True) -> PageHighlight | None:
        """The answer on its page, or ``None`` when it is not a found answer cited to a PDF page whose file is
        still where it was indexed."""
        if not answer.found or answer.start is None or not answer.citations:
            return None
        citation = answer.citations[0]
        passage = next((p for p in answer.passages if p.article_id == answer.article_id and p.pages), None)
        if citation.page is None or passage is None:
            return None
        path = store.current_file(answer.article_id)
        if path is None:
            return None
        page_start = passage.pages[citation.page - 1]
        characters, image = _page(str(path), path.stat().st_mtime_ns, citation.page)

        def pdf_indices(start: int, end: int) -> list[int]:
            local = range(max(start - page_start, 0), min(end - page_start, len(characters.text)))
            return [characters.indices[k] for k in local if characters.indices[k] >= 0]

        answer_chars = pdf_indices(answer.start, answer.end)
        quote = _line_boxes(pdf_indices(citation.start, citation.end), characters.boxes, characters.height)
        boxed = _line_boxes(answer_chars, characters.boxes, characters.height)
        drawn = image.convert("RGBA")
        from PIL import Image, ImageDraw

        shade = Image.new("RGBA", drawn.size, (0, 0, 0, 0))
        for box in quote:
            ImageDraw.Draw(shade).rectangle(box, fill=QUOTE_SHADE)
        drawn = Image.alpha_composite(drawn, shade)
        pen = ImageDraw.Draw(drawn)
        for box in boxed:
            pen.rectangle(box, outline=ANSWER_OUTLINE, width=3)
        top = 0.0
        if crop and (quote or boxed):
            top = max(0.0, min(box[1] for box in quote + boxed) - CONTEXT_POINTS * SCALE)
            bottom = min(float(drawn.height), max(box[3] for box in quote + boxed) + CONTEXT_POINTS * SCALE)
            drawn = drawn.crop((0, int(top), drawn.width, int(bottom)))
        spans = f"{path}:{citation.page}:{answer.start}:{answer.end}:{citation.start}:{crop}"
        target = self._folder() / f"page-{hashlib.sha1(spans.encode()).hexdigest()[:16]}.png"
        drawn.convert("RGB").save(target)
        return PageHighlight(
            target,
            citation.page,
            tuple(boxed),
            tuple(quote),
            "".join(characters.pdf_chars[i] for i in answer_chars),
            int(top),
        )

    def _folder(self) -> Path:
        with self._lock:
            if self.folder is None:
                self.folder = Path(tempfile.mkdtemp(prefix="article-qa-pages-"))
            return self.folder
