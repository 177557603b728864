"""Rows -> Checked: every problem of every cell in one pass, and the account to send.

Pure: no I/O, no logging, no clock. Defaults fill blank cells before the rules run (a cell
wins). Cell rules live in `cells.py`, rules across a row's cells in `rows.py`; this
module checks the columns and finds duplicate mailboxes across rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace

from bulkmail.codes import Code
from bulkmail.errors import InputError
from bulkmail.models import Account, Checked, Problem, Row, Severity, Table
from bulkmail.printable import listing, printable, quoted
from bulkmail.schema import ALIASES, REQUIRED_FIELDS, SMTP_TWINS, fold, near_field
from bulkmail.secrets import quotable
from bulkmail.validation.autofill import PortalSetups
from bulkmail.validation.autofill import autofill as autofill_values
from bulkmail.validation.cells import Note
from bulkmail.validation.converted import fact_problems, shown_forms
from bulkmail.validation.echoes import SecretEchoes
from bulkmail.validation.identifiers import bare
from bulkmail.validation.mailboxes import FirstRows
from bulkmail.validation.rows import check_row

__all__ = ["check_columns", "validate", "validate_row"]

Filler = Callable[[Mapping[str, str]], tuple[Mapping[str, str], tuple[Note, ...]]]
"""A row's values -> them with blank server settings filled, and a note per value filled."""


def check_columns(
    table: Table, defaults: Mapping[str, str], autofill: bool | PortalSetups = False
) -> None:
    """Raise InputError naming each required column that neither the sheet nor a default has
    (with `autofill`, the servers may come from the provider table: each row says if not).

    The message names the header row, a header that is probably a slip for the column
    (`E-Mail Adress`), and a repeated Host or Port ignored where the SMTP one is missing,
    with the fix. It quotes only headers `quotable` allows: the row taken for the header
    may be data.
    """
    missing = [
        name
        for name in REQUIRED_FIELDS
        if table.column_of(name) is None
        and not defaults.get(name, "").strip()
        and not (autofill and name.endswith("server"))
    ]
    if not missing:
        return
    shown = [h if ok else "" for h, ok in zip(table.headers, quotable(table.headers), strict=True)]
    repeats = _smtp_repeats(table, shown)
    described = listing([_described(name, table, shown, repeats) for name in missing], 4)
    plural = "s" if len(missing) > 1 else ""
    fixes = [f"name the second {header} {twin}" for twin, header in repeats.items()]
    # Only a server is the same on every row; a shared email or password would be a mistake.
    shared = [name for name in missing if name.endswith("server") and name not in repeats]
    hint = "; ".join(fixes) or "rename the header to the column's name"
    if shared:
        hint += f", or give every row one with --set {shared[0]}=HOST"
    raise InputError(
        f"{table.info.path}: missing required column{plural} in the header (row "
        f"{table.header_row}): {described}",
        hint,
    )


def _described(name: str, table: Table, shown: list[str], repeats: Mapping[str, str]) -> str:
    """Return `smtp_server (the second 'Host' repeats the first and is ignored)`, `email
    (closest header: 'E-Mail Adress')` or `email` for a missing required column."""
    if name in repeats:
        return f"{name} (the second {repeats[name]} repeats the first and is ignored)"
    near = next(
        (
            h
            for h, f, s in zip(table.headers, table.fields, shown, strict=False)
            if f is None and s and near_field(h) == name
        ),
        None,
    )
    return f"{name} (closest header: {quoted(near)})" if near is not None else name


def _smtp_repeats(table: Table, shown: list[str]) -> dict[str, str]:
    """Return, for each SMTP field the sheet lacks, the described repeat of its incoming twin
    that was ignored: {"smtp_server": "'Host'", "smtp_port": "'Port'"}."""
    repeats: dict[str, str] = {}
    for header, field, quote in zip(table.headers, table.fields, shown, strict=False):
        named = ALIASES.get(fold(header)) if field is None else None
        twin = SMTP_TWINS.get(named or "")
        if named is not None and twin is not None and table.column_of(twin) is None:
            repeats.setdefault(twin, quoted(quote) if quote else f"{named} column")
    return repeats


def validate(
    table: Table,
    *,
    defaults: Mapping[str, str] | None = None,
    run_user: str | None = None,
    acting: bool = False,
    from_email: bool = False,
    autofill: bool | PortalSetups = False,
) -> Iterator[Checked]:
    """Check the columns now (InputError), then yield one Checked per row as rows are read.

    `defaults` fill blank cells; `run_user` is the run's portal login (--user), which owns
    rows without a portal_user; `acting` and `from_email` as for `rows.check_row`;
    `autofill` fills server settings still blank from the provider table (True) or the
    portal's answers (a PortalSetups): `validation.autofill`.
    """
    filled = _nonblank(defaults or {})
    check_columns(table, filled, autofill)
    portal_column = table.column_of("portal_user") is not None or "portal_user" in filled
    return _checked_rows(table, filled, run_user, portal_column, (acting, from_email), autofill)


def _checked_rows(
    table: Table,
    filled: dict[str, str],
    run_user: str | None,
    portal_column: bool,
    owners: tuple[bool, bool] = (False, False),
    autofill: bool | PortalSetups = False,
) -> Iterator[Checked]:
    # The only state that grows with the file: about 50 bytes per distinct mailbox.
    seen = FirstRows()
    cells_of = _cells_reader(table)
    shown = shown_forms(table.fields)
    echoes = SecretEchoes(table)
    acting, from_email = owners
    fill = _filler(autofill)  # settled once, not per row
    for row in table.rows:
        number = row.number
        cells = cells_of(row)
        values: Mapping[str, str] = {**filled, **cells} if filled else cells
        notes: tuple[Note, ...] = ()
        if fill is not None:
            values, notes = fill(values)
        account, problems = check_row(
            values, number, run_user, portal_column, acting=acting, from_email=from_email
        )
        if notes:
            problems = _with_autofill(problems, [Problem(number, *note) for note in notes])
        row, echoed = echoes.check(row, values)  # the row goes on with those cells masked
        if echoed:
            problems = _instead(problems, echoed)
            account = None
        if filled and problems:
            problems = _blame_defaults(problems, filled, cells)
        converted = shown(row) if shown is not None else []
        if row.facts:
            converted = [*fact_problems(row.facts, table.fields, number), *converted]
        if converted:
            problems = _with_converted(problems, converted)
            if any(p.severity is Severity.ERROR for p in converted):
                account = None
        duplicate = _duplicate(seen, values, number, run_user)
        if duplicate is not None:
            problems.append(duplicate)
            account = None
        yield Checked(row, account, tuple(problems))


def _filler(autofill: bool | PortalSetups) -> Filler | None:
    """Return what fills a row's blank server settings (`autofill`), None for nothing."""
    if isinstance(autofill, PortalSetups):
        return autofill.fill
    return autofill_values if autofill else None


def _with_autofill(problems: list[Problem], notes: list[Problem]) -> list[Problem]:
    """Add autofill's notes; a domain the portal did not answer comes first, instead of the
    blank servers it explains (`required` would send the user to the wrong fix)."""
    if not any(n.code is Code.AUTOFILL_FAILED for n in notes):
        return [*problems, *notes]
    explained = ("server", "smtp_server")
    kept = [p for p in problems if not (p.code is Code.REQUIRED and p.column in explained)]
    return [*notes, *kept]


_UNREAD = (Code.CELL_ERROR, Code.FORMULA_UNCALCULATED)


def _instead(problems: list[Problem], echoed: list[Problem]) -> list[Problem]:
    """Add the password-in-column problems; drop what the others say of those cells.

    "'Summer-2024…' is not a host name" would quote the password, and a quote cut short
    (`printable`'s limit) is no longer the whole secret that masking looks for.
    """
    cells = {p.column for p in echoed if p.column}
    return [*(p for p in problems if p.column not in cells), *echoed]


def _with_converted(problems: list[Problem], converted: list[Problem]) -> list[Problem]:
    """Add the converted-value problems; drop what the others say of a cell read as blank.

    An error cell reads as "": "password is blank" would state something false of it.
    """
    unread = {p.column for p in converted if p.code in _UNREAD}
    kept = [p for p in problems if p.column not in unread] if unread else problems
    return [*kept, *converted]


_FROM_DEFAULTS = "this value is the run's default (--set or --defaults): fix it there"


def _blame_defaults(
    problems: list[Problem], filled: Mapping[str, str], cells: Mapping[str, str]
) -> list[Problem]:
    """Say so in the hint of a problem with a value the sheet left blank and a default filled."""
    return [
        replace(p, hint=f"{p.hint}; {_FROM_DEFAULTS}" if p.hint else _FROM_DEFAULTS)
        if p.column in filled and p.column not in cells and p.severity is not Severity.INFO
        else p
        for p in problems
    ]


def _cells_reader(table: Table) -> Callable[[Row], dict[str, str]]:
    """Return a function giving a row's non-blank cells keyed by canonical field."""
    columns = tuple((f, i) for i, f in enumerate(table.fields) if f is not None)
    if len({f for f, _ in columns}) < len(columns):
        # Two columns of one field (a Table built by hand): keep table.values' last-wins.
        return lambda row: _nonblank(table.values(row))
    width = len(table.fields)

    def cells_of(row: Row) -> dict[str, str]:
        cells = row.cells
        if len(cells) < width:  # a short row: zip() in table.values stops at its end
            return _nonblank(table.values(row))
        # `not text.isspace()` is `text.strip() != ""` without building a string.
        return {f: text for f, i in columns if (text := cells[i]) and not text.isspace()}

    return cells_of


def validate_row(
    values: Mapping[str, str],
    number: int,
    *,
    defaults: Mapping[str, str] | None = None,
    run_user: str | None = None,
    portal_column: bool | None = None,
) -> tuple[Account | None, list[Problem]]:
    """Check one row's cells, keyed by canonical field; return its account and problems.

    `portal_column` says whether the sheet has a portal_user column; by default, whether
    `values` or `defaults` has the key. Duplicates across rows are validate()'s job.
    """
    filled = _nonblank(defaults or {})
    cells = _nonblank(values)
    if portal_column is None:
        portal_column = "portal_user" in values or "portal_user" in filled
    account, problems = check_row({**filled, **cells}, number, run_user, portal_column)
    return account, _blame_defaults(problems, filled, cells) if filled else problems


def _nonblank(values: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in values.items() if v.strip()}


def _duplicate(
    seen: FirstRows,
    values: Mapping[str, str],
    number: int,
    run_user: str | None,
) -> Problem | None:
    """Return the problem of a row whose mailbox an earlier row has; remember first ones."""
    # As the rows read them: a zero-width space pasted in front does not make another mailbox.
    email = bare(values.get("email", ""))
    if not email:
        return None
    owner = bare(values.get("portal_user", "")) or run_user or ""
    first = seen.first(owner, email, number)
    if first == number:
        return None
    # Cells from the file: printable, so the report and the console show them on one line.
    whose = f"portal user {printable(owner)}" if owner else "the run's portal user"
    code = Code.DUPLICATE_ACCOUNT
    return Problem(
        number,
        "email",
        code,
        code.severity,
        f"{printable(email)} is the same mailbox as row {first} for {whose}: "
        "the portal would overwrite it",
        f"delete this row or merge it into row {first}",
    )
