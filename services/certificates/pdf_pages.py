"""One PDF per page of a certificate document, by copying the page's objects (FEATURES I7; issue 17).

wkhtmltopdf writes a plain PDF 1.4: a cross-reference table, no object streams, one flat page tree. A page's
PDF is the page with every object it reaches (its content stream, resources, the shared fonts and images),
renumbered from 1 and copied byte for byte, under a new catalog and a one-page tree. pypdf's writer parses
and re-serialises every object instead, which cost ≈1.4 ms a page, more than the job's own work on the
certificate; copying costs a few hundredths of that. Anything else (a cross-reference stream, encryption, a
nested page tree, a page reaching another page) is left to pypdf: `split` returns None.
"""

from __future__ import annotations

import re

_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_SUBSECTION = re.compile(rb"(\d+) (\d+)\s*\n")
_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])")
_OBJ_HEADER = re.compile(rb"(\d+) 0 obj\b")
_REF = re.compile(rb"(?<![\d.])(\d+) 0 R\b")
_STREAM = re.compile(rb"\bstream\r?\n")
_KIDS = re.compile(rb"/Kids\s*\[([^\]]*)\]")
_ROOT = re.compile(rb"/Root\s+(\d+) 0 R")
_PAGES = re.compile(rb"/Pages\s+(\d+) 0 R")
_PARENT = re.compile(rb"/Parent\s+\d+ 0 R")


def _objects(document: bytes) -> tuple[dict[int, bytes], bytes] | None:
    """Object number → the bytes between "N 0 obj" and "endobj", and the trailer; None if not a plain table."""
    end = _STARTXREF.search(document[-64:])
    if end is None:
        return None
    start = int(end.group(1))
    if not document.startswith(b"xref", start):
        return None  # a cross-reference stream (PDF 1.5+)
    position, offsets = start + 4, {}
    while True:
        while document[position:position + 1] in (b"\n", b"\r", b" "):
            position += 1
        section = _SUBSECTION.match(document, position)
        if section is None:
            break
        first, count = int(section.group(1)), int(section.group(2))
        position = section.end()
        for number in range(first, first + count):
            entry = _ENTRY.match(document, position)
            if entry is None:
                return None
            if entry.group(3) == b"n":
                if entry.group(2) != b"00000":
                    return None  # generations other than 0 are never written by wkhtmltopdf
                offsets[number] = int(entry.group(1))
            position = entry.end()
            while document[position:position + 1] in (b"\n", b"\r", b" "):
                position += 1
    if not document.startswith(b"trailer", position):
        return None
    trailer = document[position:]
    if b"/Encrypt" in trailer or b"/Prev" in trailer:
        return None
    objects = {}
    for number, offset in offsets.items():
        header = _OBJ_HEADER.match(document, offset)
        if header is None or int(header.group(1)) != number:
            return None
        close = document.find(b"endobj", header.end())
        if close < 0:
            return None
        objects[number] = document[header.end():close]
    return objects, trailer


def _dictionary_part(body: bytes) -> tuple[bytes, bytes]:
    """The object's dictionary (where references are) and its stream data with the keyword (copied as is)."""
    stream = _STREAM.search(body)
    return (body, b"") if stream is None else (body[:stream.start()], body[stream.start():])


def split(document: bytes) -> list[bytes] | None:
    """One PDF per page, in order; None when the document is not of the plain form described above."""
    parsed = _objects(document)
    if parsed is None:
        return None
    objects, trailer = parsed
    root = _ROOT.search(trailer)
    catalog = objects.get(int(root.group(1))) if root else None
    pages_ref = _PAGES.search(catalog) if catalog else None
    if pages_ref is None:
        return None
    tree = objects.get(int(pages_ref.group(1)), b"")
    kids = _KIDS.search(tree)
    if kids is None:
        return None
    pages = [int(n) for n in _REF.findall(kids.group(1))]
    page_set = set(pages)
    references = {number: [int(n) for n in _REF.findall(_dictionary_part(body)[0])]
                  for number, body in objects.items()}
    documents = []
    for page in pages:
        if b"/Type /Pages" in objects.get(page, b"/Type /Pages"):
            return None  # a nested tree
        reached, stack = [], [page]
        seen = {page}
        while stack:
            number = stack.pop()
            reached.append(number)
            for target in references.get(number, ()):
                if target == int(pages_ref.group(1)) or target in seen:
                    continue
                if target in page_set or target not in objects:
                    return None  # a link to another page, or a dangling reference
                seen.add(target)
                stack.append(target)
        documents.append(_write(page, sorted(reached), objects))
    return documents


def _write(page: int, numbers: list[int], objects: dict[int, bytes]) -> bytes:
    # 1: the catalog, 2: the page tree, then the page's objects in their original order from 3.
    renumber = {old: new for new, old in enumerate(numbers, start=3)}

    def renumbered(match: re.Match[bytes]) -> bytes:
        # Only the page's /Parent names an object not copied (the old tree); it is pointed at 2 below.
        new = renumber.get(int(match.group(1)))
        return match.group(0) if new is None else b"%d 0 R" % new

    bodies = [b"\n<< /Type /Catalog /Pages 2 0 R >>\n", b"\n<< /Type /Pages /Kids [%d 0 R] /Count 1 >>\n" % renumber[page]]
    for old in numbers:
        dictionary, stream = _dictionary_part(objects[old])
        dictionary = _REF.sub(renumbered, dictionary)
        if old == page:
            dictionary = _PARENT.sub(b"/Parent 2 0 R", dictionary, count=1)
        bodies.append(dictionary + stream)
    out = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
    size, offsets = len(out[0]), []
    for number, body in enumerate(bodies, start=1):
        chunk = b"%d 0 obj%sendobj\n" % (number, body)
        offsets.append(size)
        out.append(chunk)
        size += len(chunk)
    count = len(offsets) + 1
    out.append(b"xref\n0 %d\n0000000000 65535 f \n" % count)
    out.extend(b"%010d 00000 n \n" % offset for offset in offsets)
    out.append(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (count, size))
    return b"".join(out)
