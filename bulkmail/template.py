"""`bulkmail template`: a blank Accounts sheet with dropdowns, port rules, help and an example.

Everything it says about a column comes from `schema.FIELDS`, and every problem code it lists
from `codes.Code`, so the template, the reader, the validator and the report cannot drift apart.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final, Literal

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from bulkmail.codes import Code
from bulkmail.errors import ConfigError
from bulkmail.schema import (
    AUTH_NAMES,
    ENCRYPTION_NAMES,
    FIELDS,
    REQUIRED_FIELDS,
    Field,
    default_port,
)

LAST_ROW: Final = 5000  # validations cover rows 2..LAST_ROW
# Typed as text so Excel keeps leading zeros and does not turn "123456" into a number.
TEXT_COLUMNS: Final = frozenset(
    {"account", "password", "smtp_account", "smtp_password", "portal_password"}
)
EXAMPLE: Final[dict[str, str | int]] = {
    "portal_user": "ivan.petrov@example.org",
    "portal_password": "fake-portal-password",
    "name": "Ivan Petrov",
    "email": "ivan.petrov@example.org",
    "account": "ivan.petrov@example.org",
    "password": "fake-mailbox-password",
    "server": "imap.example.org",
    "port": 993,
    "imap": "true",
    "incoming_encryption_type": "SSL",
    "auth_type_in": "Login",
    "smtp_server": "smtp.example.org",
    "smtp_port": 465,
    "smtp_auth": "true",
    "smtp_account": "ivan.petrov@example.org",
    "smtp_password": "fake-mailbox-password",
    "outcoming_encryption_type": "SSL",
    "auth_type_smtp": "Login",
    "restrict": "false",
}
_LISTS: Final = {
    "bool": "true,false",
    "encryption": "None,SSL,StartTLS",
    "auth_type_in": "Login,CramMd5,Ntlm",
    "auth_type_smtp": "None,Login,CramMd5,Ntlm",
}


def write_template(path: Path, overwrite: bool = False) -> None:
    """Write a blank import sheet to `path` (.xlsx); refuse to replace a file unless told."""
    if path.suffix.lower() != ".xlsx":
        raise ConfigError(
            f"the template must be an .xlsx file, not {path.name}",
            "end the name in .xlsx, e.g. accounts.xlsx",
        )
    if path.exists() and not overwrite:
        raise ConfigError(f"{path} already exists", "pass --force to replace it")
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)  # a new Workbook always has one worksheet
    fill_accounts(sheet)
    fill_help(book.create_sheet("Help"))
    _save(book, path)


def _save(book: Workbook, path: Path) -> None:
    """Save through a temporary file so that a failure never leaves half a template."""
    try:
        handle, temporary = tempfile.mkstemp(suffix=".xlsx", dir=path.parent)
        os.close(handle)
        try:
            book.save(temporary)
            os.replace(temporary, path)
        finally:
            Path(temporary).unlink(missing_ok=True)
    except OSError as err:
        raise ConfigError(
            f"cannot write {path}: {err.strerror or err}", "choose a folder you can write to"
        ) from err


def fill_accounts(sheet: Worksheet) -> None:
    """Turn `sheet` into the Accounts sheet: header, help comments, validations, example."""
    sheet.title = "Accounts"
    bold = Font(bold=True)
    for col, field in enumerate(FIELDS, start=1):
        cell = sheet.cell(row=1, column=col, value=field.name)
        cell.font = bold
        cell.comment = _comment(field)
        letter = get_column_letter(col)
        sheet.column_dimensions[letter].width = max(14, len(field.name) + 4)
        if field.name in TEXT_COLUMNS:
            sheet.column_dimensions[letter].number_format = "@"
        validation = _validation(field)
        if validation is not None:
            sheet.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}{LAST_ROW}")
        example = sheet.cell(row=2, column=col, value=EXAMPLE[field.name])
        if field.name in TEXT_COLUMNS:
            example.number_format = "@"
    sheet.freeze_panes = "A2"


def _comment(field: Field) -> Comment:
    required = "Required. " if field.name in REQUIRED_FIELDS else ""
    text = f"{field.name}\n{required}{field.help}.\nAccepted: {accepted_values(field)}"
    comment = Comment(text, "bulkmail")
    comment.width, comment.height = 320, 140
    return comment


def _validation(field: Field) -> DataValidation | None:
    """Return the Excel rule for a column: a dropdown for enums and booleans, 1..65535 ports."""
    if field.kind == "port":
        return DataValidation(
            type="whole",
            operator="between",
            formula1="1",
            formula2="65535",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="Not a port",
            error=f"{field.name}: a whole number from 1 to 65535 (blank = the default port)",
        )
    choices = _LISTS.get(field.name) or _LISTS.get(field.kind)
    if choices is None:
        return None
    return DataValidation(
        type="list",
        formula1=f'"{choices}"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=f"Not a {field.name} value",
        error=f"{field.name}: one of {choices}",
    )


_ACCEPTED: Final = {
    "text": "any text",
    "email": "an email address, e.g. ivan.petrov@example.org",
    "host": "a host name, e.g. mail.example.org",
    "secret": "any text, kept exactly as typed (reports show ********)",
    "port": "a whole number from 1 to 65535",
    "bool": "true or false (also yes/no, 1/0, да/нет)",
    "encryption": "None, SSL or StartTLS (or 0, 1, 2)",
}


def accepted_values(field: Field) -> str:
    """Return what a column accepts, in the words the Help sheet and the comments use."""
    if field.name == "auth_type_in":
        return "Login, CramMd5 or Ntlm (or 1, 4, 7)"
    if field.name == "auth_type_smtp":
        return "None, Login, CramMd5 or Ntlm (or 0, 1, 4, 7)"
    return _ACCEPTED[field.kind]


_HOW_TO: Final = (
    "Fill one row of the Accounts sheet per mailbox; delete the example row.",
    "Check it without touching the portal:  bulkmail validate FILE.xlsx",
    "Create the accounts:  bulkmail import FILE.xlsx --portal https://portal.example.org",
    "Without portal_user / portal_password columns every row goes to one portal user: "
    "add --user LOGIN (password from BULKMAIL_PASSWORD or a prompt).",
    "Each run writes a report folder under reports/: fix the Failed sheet and feed it back.",
)
_EXIT_CODES: Final = (
    (0, "every row was valid / created / skipped"),
    (1, "some rows failed (validation or portal); see the report's Failed sheet"),
    (2, "nothing was attempted: the input, options or configuration are unusable"),
    (3, "the run was aborted (fatal portal answer, interrupt); the report covers what happened"),
)


_PROTOCOLS: Final[tuple[tuple[str, Literal["imap", "pop3", "smtp"]], ...]] = (
    ("IMAP", "imap"),
    ("POP3", "pop3"),
    ("SMTP", "smtp"),
)


Section = tuple[tuple[str, ...], Sequence[tuple[str | int, ...]]]


def _help_sections() -> list[Section]:
    """Return the Help sheet's sections: a bold heading row and its rows."""
    columns = [
        (f.name, "yes" if f.name in REQUIRED_FIELDS else "", f.help, accepted_values(f))
        for f in FIELDS
    ]
    auth = [
        (name, number, "cannot be created with a password" if name == "OAuth2" else "")
        for number, name in AUTH_NAMES.items()
    ]
    ports: list[tuple[str | int, ...]] = [
        (label, *(default_port(protocol, enc) for enc in ENCRYPTION_NAMES))
        for label, protocol in _PROTOCOLS
    ]
    return [
        (("How to use",), [(line,) for line in _HOW_TO]),
        (("Column", "Required", "Meaning", "Accepted values"), columns),
        (("Encryption", "Number"), [(n, v) for v, n in ENCRYPTION_NAMES.items()]),
        (("Authentication", "Number", "Note"), auth),
        (("Blank port means", *ENCRYPTION_NAMES.values()), ports),
        (("Exit code", "Meaning"), list(_EXIT_CODES)),
        *_code_sections(),
    ]


def _code_sections() -> list[Section]:
    """Return one Help section per stage: its codes with severity, meaning and default fix."""
    stages = dict.fromkeys(code.stage for code in Code)  # in the registry's order
    return [
        (
            (f"Problem code ({stage.value})", "Severity", "What it means", "What to do"),
            [(c.value, c.severity.value, c.meaning, c.hint) for c in Code if c.stage is stage],
        )
        for stage in stages
    ]


def fill_help(sheet: Worksheet) -> None:
    """Write the Help sheet: how to run, columns, enums, default ports, exit and problem codes."""
    bold = Font(bold=True)
    for heading, rows in _help_sections():
        sheet.append(heading)
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        for row in rows:
            sheet.append(row)
        sheet.append(())
    for letter, width in zip("ABCD", (34, 12, 70, 50), strict=True):
        sheet.column_dimensions[letter].width = width
