"""What a file that a workbook reader refused really is, and the one fix that works for it.

A rename hint must lead to a file bulkmail reads: an .xls named .xlsx is told to rename it,
an encrypted .xlsx (an Office binary file too) is told it is protected, an .xlsb to save it
again as .xlsx, a UTF-16 "Unicode text" to rename it .csv. The reader's own words are given
only for a file that is what its name says and still cannot be read (damaged, cut short).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Final

from bulkmail.errors import InputError

_OLE: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP: Final = b"PK\x03\x04"
_SNIFF: Final = 32 << 20  # bytes of an Office binary file searched for its stream names
_ODS: Final = b"application/vnd.oasis.opendocument.spreadsheet"
_UNKNOWN_OLE: Final = "an Office binary file"


def is_panic(err: BaseException) -> bool:
    """Return whether `err` is a Rust panic raised through pyo3 (not an Exception subclass)."""
    return type(err).__name__ == "PanicException"


def protected(path: Path) -> InputError:
    return InputError(
        f"{path.name} is password-protected",
        "open it, remove the password (File > Info > Protect Workbook) and save a copy",
    )


def unreadable(path: Path, fmt: str, detail: str) -> InputError:
    """Return the error for a file a reader refused, saying what the file really is."""
    with path.open("rb") as f:
        start = f.read(512)
    if not start:
        return InputError(f"{path.name} is empty", f"save the sheet again as .{fmt}")
    if start.startswith(_ZIP):
        kind = _zip_kind(path)
    elif start.startswith(_OLE):
        kind = _ole_kind(path)
        if kind == "encrypted":
            return protected(path)
        if kind == _UNKNOWN_OLE:  # its directory is lost (a cut file): take its name's word
            kind = fmt
    else:
        return _not_a_workbook(path, fmt, start)
    if (
        kind in ("xlsx", "xlsm", "ods", "xls")
        and kind != fmt
        and not {kind, fmt} <= {"xlsx", "xlsm"}
    ):
        return InputError(
            f"{path.name} is an .{kind} workbook named .{fmt}", f"rename it to .{kind}"
        )
    if kind == "xlsb":
        return InputError(
            f"{path.name} is an Excel binary workbook (.xlsb), which bulkmail does not read",
            "open it in Excel and save it as .xlsx (File > Save As > Excel Workbook)",
        )
    if kind in ("xlsx", "xlsm", "ods", "xls"):
        reason = " ".join(detail.split())[:200]
        return InputError(
            f"{path.name} cannot be read: it looks damaged or cut short ({reason})",
            f"open it in Excel or LibreOffice and save it again as .{fmt}",
        )
    return InputError(
        f"{path.name} is not a workbook ({kind})",
        "open it in the program that made it and save the sheet as .xlsx or .csv",
    )


def _not_a_workbook(path: Path, fmt: str, start: bytes) -> InputError:
    """Return the error for a file that is neither a zip nor an Office binary file."""
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        return InputError(
            f"{path.name} is not a .{fmt} workbook: it holds UTF-16 text (what Excel's "
            "'Unicode Text' saves)",
            "rename it to .csv: bulkmail reads it as tab-separated text",
        )
    if b"\0" not in start:
        return InputError(
            f"{path.name} is not a .{fmt} workbook: it holds text",
            "if it is comma- or tab-separated text, rename it to .csv",
        )
    return InputError(
        f"{path.name} is not a workbook: neither a .{fmt} nor another spreadsheet format",
        "open it in the program that made it and save the sheet as .xlsx or .csv",
    )


def _zip_kind(path: Path) -> str:
    """Return "xlsx", "xlsm", "xlsb", "ods", or a description of another zip archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and archive.read("mimetype").strip() == _ODS:
                return "ods"
    except (zipfile.BadZipFile, OSError, KeyError, EOFError):
        named = path.suffix.lower().lstrip(".")
        return named if named in ("xlsx", "xlsm", "ods") else "a damaged zip archive"
    if "xl/workbook.bin" in names:
        return "xlsb"
    if "xl/workbook.xml" in names:
        return "xlsm" if "xl/vbaProject.bin" in names else "xlsx"
    if any(n.startswith("word/") for n in names):
        return "a Word document"
    return "a zip archive"


def _ole_kind(path: Path) -> str:
    """Return "xls", "encrypted" (a protected .xlsx), or a description of another Office file.

    The streams' names are UTF-16 in the file's directory, wherever it lies: searched for.
    """
    with path.open("rb") as f:
        data = f.read(_SNIFF)
    if "EncryptedPackage".encode("utf-16-le") in data:
        return "encrypted"
    if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
        return "xls"
    if "WordDocument".encode("utf-16-le") in data:
        return "a Word document"
    return _UNKNOWN_OLE
