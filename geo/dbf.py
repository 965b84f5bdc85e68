"""The text encoding of a Shapefile's ``.dbf``: what the file declares, checked against its bytes.

Shapefiles say their encoding in two places, and often wrongly or not at all:

1. the ``.cpg`` file beside the ``.dbf`` (``UTF-8``, ``ANSI 1252``, ``88591``...);
2. the DBF header's *language driver id* (LDID, byte 29): ``0x57`` is ANSI
   (Windows-1252), ``0x03`` Windows ANSI, ``0x01`` and ``0x02`` the DOS code
   pages 437 and 850, ``0`` says nothing.

:func:`choose_encoding` takes them in that order and keeps the first whose
decoding of every text value (and field name) succeeds; when none is declared
or none fits, it detects: UTF-8 when all non-ASCII text decodes as UTF-8
(UTF-8 is self-checking, so Latin-1 text practically never passes), else
Windows-1252. ISO-8859-1 is read as Windows-1252 wherever they differ
(bytes 0x80-0x9F are C1 control characters in ISO-8859-1 and the curly
quotes, dashes and ``€`` people typed in Windows-1252), so no C1 control
character reaches the store from a Latin-1 declaration.

The DBF layout (dBASE III): a 32-byte header (record count at byte 4,
little-endian uint32; header length at 8 and record length at 10, uint16;
LDID at 29), 32-byte field descriptors up to a ``0x0D`` byte (name, type at
11, length at 16), then fixed-length records each starting with a deletion
flag byte.

Encoding names returned are Python codec names that GDAL's recoder knows too
(``UTF-8``, ``CP1252``, ``CP850``...).
"""

from __future__ import annotations

import codecs
import os
import re
import struct
from dataclasses import dataclass

#: Encodings of detection (names GDAL's recoder and Python both know).
UTF8, CP1252, LATIN1 = "UTF-8", "CP1252", "ISO-8859-1"

#: DBF language driver id (header byte 29) -> code page, after the ESRI/dBASE table.
LDID_CODEPAGES = {
    0x01: "CP437", 0x02: "CP850", 0x03: CP1252, 0x08: "CP865", 0x09: "CP437", 0x0A: "CP850",
    0x0B: "CP437", 0x0D: "CP437", 0x0E: "CP850", 0x0F: "CP437", 0x10: "CP850", 0x11: "CP437",
    0x12: "CP850", 0x13: "CP932", 0x14: "CP850", 0x15: "CP437", 0x16: "CP850", 0x17: "CP865",
    0x18: "CP437", 0x19: "CP437", 0x1A: "CP850", 0x1B: "CP437", 0x1C: "CP863", 0x1D: "CP850",
    0x1F: "CP852", 0x22: "CP852", 0x23: "CP852", 0x24: "CP860", 0x25: "CP850", 0x26: "CP866",
    0x37: "CP850", 0x40: "CP852", 0x4D: "CP936", 0x4E: "CP949", 0x4F: "CP950", 0x50: "CP874",
    0x57: CP1252, 0x58: CP1252, 0x59: CP1252, 0x64: "CP852", 0x65: "CP866", 0x66: "CP865",
    0x67: "CP861", 0x6A: "CP737", 0x6B: "CP857", 0x6C: "CP863", 0x78: "CP950", 0x79: "CP949",
    0x7A: "CP936", 0x7B: "CP932", 0x7C: "CP874", 0x7D: "CP1255", 0x7E: "CP1256",
    0x86: "CP737", 0x87: "CP852", 0x88: "CP857", 0xC8: "CP1250", 0xC9: "CP1251",
    0xCA: "CP1254", 0xCB: "CP1253", 0xCC: "CP1257",
}
_LATIN1_NAMES = {"latin_1", "latin-1", "iso8859_1", "iso8859-1"}


@dataclass
class Choice:
    """The encoding to read a ``.dbf`` with, and how it was chosen.

    Attributes
    ----------
    encoding : str or None
        Codec name (``"CP1252"``); ``None`` when the text is pure ASCII and
        nothing is declared (any encoding reads it).
    source : str
        ``"cpg"``, ``"ldid"``, ``"detected"`` or ``"ascii"``.
    note : str
        What was assumed, in Spanish, for the import report.
    wrong : str or None
        A declared encoding the bytes do not fit (``"UTF-8 (.cpg)"``), if any.
    """

    encoding: str | None
    source: str
    note: str
    wrong: str | None = None


def codec(name: str | None) -> str | None:
    """Codec name of an encoding label (``"ANSI 1252"``, ``"8859-1"``, ``"utf8"``), ``None`` if unknown.

    ISO-8859-1 (Latin-1) becomes :data:`CP1252` (its superset for printable text).
    """
    text = (name or "").strip().strip("\x00").strip()
    if not text:
        return None
    upper = text.upper().replace("_", "-")
    digits = re.fullmatch(r"(?:ANSI|CP|WINDOWS|WIN|MS|IBM|OEM|DOS)?[- ]?(\d{3,4})", upper)
    if digits:
        text = f"cp{digits.group(1)}"
    elif re.fullmatch(r"(?:ISO[- ]?)?8859[- ]?(\d{1,2})|88591", upper.replace(" ", "")):
        part = re.sub(r"\D", "", upper)[4:] or "1"
        text = f"iso8859_{part}"
    try:
        found = codecs.lookup(text).name
    except LookupError:
        return None
    if found in _LATIN1_NAMES:
        return CP1252
    if found == "utf-8":
        return UTF8
    return found.upper() if found.startswith("cp") else found


def _char_fields(data: bytes) -> tuple[list[tuple[int, int]], list[bytes], int, int, int] | None:
    """(offset, length) of the character fields, raw field names, header length, record length, count."""
    if len(data) < 33:
        return None
    count, header_len, record_len = struct.unpack("<IHH", data[4:12])
    fields, names = [], []
    offset = 1  # deletion flag
    pos = 32
    while pos + 32 <= min(header_len, len(data)) and data[pos] != 0x0D:
        names.append(data[pos:pos + 11].split(b"\x00", 1)[0])
        length = data[pos + 16]
        if chr(data[pos + 11]) in "CM":
            fields.append((offset, length))
        offset += length
        pos += 32
    return fields, names, header_len, record_len, count


def non_ascii_text(path: str | os.PathLike, max_records: int = 100_000) -> list[bytes]:
    """Distinct non-ASCII byte strings of a ``.dbf``: field names and character values (trailing blanks cut).

    Parameters
    ----------
    path : path-like
        The ``.dbf`` file.
    max_records : int
        Records inspected at most (from the start).
    """
    with open(path, "rb") as handle:
        data = handle.read()
    parsed = _char_fields(data)
    if parsed is None:
        return []
    fields, names, header_len, record_len, count = parsed
    found = {n for n in names if not n.isascii()}
    if fields and record_len > 0:
        for i in range(min(count, max_records)):
            record = data[header_len + i * record_len: header_len + (i + 1) * record_len]
            if len(record) < record_len:
                break
            for offset, length in fields:
                raw = record[offset:offset + length].rstrip(b" \x00")
                if not raw.isascii():
                    found.add(raw)
    return sorted(found)


def fits(values: list[bytes], encoding: str) -> bool:
    """True when every value decodes with ``encoding`` (UTF-8: a character cut by the field width still counts)."""
    try:
        is_utf8 = codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False
    for raw in values:
        try:
            raw.decode(encoding)
        except UnicodeDecodeError as exc:
            cut = is_utf8 and exc.reason == "unexpected end of data" and exc.start >= len(raw) - 3
            if not cut:
                return False
    return True


def detect(values: list[bytes]) -> str | None:
    """UTF-8 if all ``values`` decode as UTF-8, else Windows-1252, else ISO-8859-1; ``None`` without values."""
    if not values:
        return None
    if fits(values, UTF8):
        return UTF8
    return CP1252 if fits(values, CP1252) else LATIN1


def ldid(path: str | os.PathLike) -> int:
    """The language driver id of a ``.dbf`` (header byte 29), 0 when absent."""
    with open(path, "rb") as handle:
        head = handle.read(32)
    return head[29] if len(head) > 29 else 0


def choose_encoding(path: str | os.PathLike, cpg: str | None = None) -> Choice:
    """Encoding of a ``.dbf``: its ``.cpg``, else its LDID, else detected; a declaration the bytes refute is skipped.

    Parameters
    ----------
    path : path-like
        The ``.dbf`` file.
    cpg : str, optional
        Text of the ``.cpg`` beside it, when there is one.

    Returns
    -------
    Choice
    """
    values = non_ascii_text(path)
    declared = []
    if cpg is not None and cpg.strip():
        declared.append(("cpg", codec(cpg), f"{cpg.strip()[:30]} (.cpg)"))
    code = ldid(path)
    if code in LDID_CODEPAGES:
        declared.append(("ldid", LDID_CODEPAGES[code], f"{LDID_CODEPAGES[code]} (byte de idioma 0x{code:02X} del .dbf)"))
    wrong = None
    for source, enc, said in declared:
        if enc is None:
            wrong = wrong or said
            continue
        if fits(values, enc):
            what = "del .cpg" if source == "cpg" else f"declarada en el .dbf (byte de idioma 0x{code:02X})"
            return Choice(enc, source, f"codificación {what}: {enc}", wrong)
        wrong = wrong or said
    found = detect(values)
    if found is None:
        return Choice(None, "ascii", "texto solo ASCII (la codificación no importa)", wrong)
    if wrong:
        note = f"el archivo declara {wrong} pero su texto no lo es: se leyó como {found}, detectada en el .dbf"
    else:
        note = f"sin codificación declarada: se leyó como {found}, detectada en el .dbf"
    return Choice(found, "detected", note, wrong)


def guess_encoding(path: str | os.PathLike, max_records: int = 100_000) -> str | None:
    """Detected encoding of a ``.dbf`` (:func:`detect`), ignoring what it declares; ``None`` for pure ASCII."""
    return detect(non_ascii_text(path, max_records))
