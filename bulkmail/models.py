"""Plain values that flow between the stages: rows in, problems and outcomes out. No I/O."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum
from typing import Any, NamedTuple, TypeVar

_T = TypeVar("_T")


def _fast_init(cls: type[_T]) -> type[_T]:
    """Give a frozen, slotted dataclass an __init__ that fills its slots directly.

    The generated one calls `object.__setattr__` through a global per field (frozen forbids
    `self.x = x`): 1.2 us for six fields against 0.45 here, and a validation run builds
    several of these per row (docs/performance.md §9). Same parameters, defaults and
    semantics; a class needing more (default_factory, kw_only, __post_init__) is refused.
    """
    params: list[str] = []
    body: list[str] = []
    env: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]  # a dataclass, by contract
        if not f.init or f.kw_only is True or f.default_factory is not MISSING:
            raise TypeError(f"_fast_init cannot build {cls.__name__}.{f.name}")
        env[f"_set_{f.name}"] = getattr(cls, f.name).__set__  # the slot's own setter
        default = "" if f.default is MISSING else f"=_default_{f.name}"
        env[f"_default_{f.name}"] = f.default
        params.append(f"{f.name}{default}")
        body.append(f"    _set_{f.name}(self, {f.name})\n")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"_fast_init cannot build {cls.__name__}: it has __post_init__")
    # Source built from the field names, as dataclasses builds its own __init__.
    exec(f"def __init__(self, {', '.join(params)}):\n{''.join(body)}", env)
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


class Severity(StrEnum):
    ERROR = "error"  # blocks the row
    WARNING = "warning"  # reported, the row is still sent
    INFO = "info"  # a note: bulkmail filled or inferred something


class Stage(StrEnum):
    VALIDATION = "validation"
    LOGIN = "login"  # the portal login of the row's portal user
    PORTAL = "portal"  # the portal answered the create with an error
    NETWORK = "network"  # no usable answer: connect error, timeout, dropped connection
    CHECK = "check"  # `bulkmail check`: this machine's own test of the row's mail servers


class Status(StrEnum):
    VALID = "valid"  # validate run: would be sent
    CREATED = "created"
    UPDATED = "updated"  # --if-exists update posted over an existing account
    SKIPPED = "skipped"  # already on the portal, or created by an earlier run (journal)
    WOULD_CREATE = "would create"  # import --dry-run
    WOULD_UPDATE = "would update"  # import --dry-run with --if-exists update
    FAILED = "failed"
    NOT_ATTEMPTED = "not attempted"  # the run was aborted before this row was sent
    CHECKED = "checked"  # `bulkmail check`: both mail servers passed this machine's test
    NOT_CHECKED = "not checked"  # `bulkmail check`: a side it cannot test (NTLM), else fine

    @property
    def succeeded(self) -> bool:
        """Return whether a row with this status belongs in the Succeeded sheet."""
        return self not in _UNSENT


# Bound once: a member looked up on its enum class costs a Python-level call (0.1 us), and
# `succeeded` runs twice a row of every run.
_UNSENT = (Status.FAILED, Status.NOT_ATTEMPTED)


@dataclass(frozen=True, slots=True)
class InputInfo:
    """What the reader found: reported in the console summary and summary.json."""

    path: str
    format: str  # "xlsx", "xls", "ods", "csv", "tsv" ...
    sheet: str | None = None
    encoding: str | None = None  # CSV only
    delimiter: str | None = None  # CSV only
    encoding_detected: bool = False  # False when --encoding forced it
    delimiter_detected: bool = False
    # CSV only: whether the encoding is certain, what told it ("byte order mark", "valid
    # UTF-8", "its words", "--encoding" ...), and the code pages that read it about as well
    # (a guess is sure only without them).
    encoding_sure: bool | None = None
    encoding_basis: str | None = None
    encoding_rivals: tuple[str, ...] = ()
    sep_line: bool = False  # CSV only: a first line `sep=;` set the delimiter (not a row)
    report: bool = False  # a bulkmail report.xlsx fed back (its Failed sheet by default)

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as JSON values (a tuple as a list)."""
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


class CellState(StrEnum):
    """What a workbook cell held that its text does not say (`CellFact.state`)."""

    ERROR = "error"  # an error value (#N/A, #REF!...): its text is ""
    UNCALCULATED = "uncalculated"  # a formula never calculated (no saved result): text ""
    MERGED = "merged"  # covered by a merged range: its text is the range's value
    DATE = "date"  # a number shown as a date or time
    DIGITS = "digits"  # a whole number of 16 or more digits (Excel keeps 15)
    FORMATTED = "formatted"  # a number shown as a percentage, fraction, scientific, currency


class CellFact(NamedTuple):
    """What the reader knows of one cell beyond its text: its state, its place, what it shows.

    `shown`: the error ("#N/A"), the merged range ("A2:A4"), or the value as the cell
    displays it ("50%", "2024-10-01", "1234567890123460").
    """

    state: CellState
    cell: str  # "B3", as the spreadsheet names it
    shown: str


@_fast_init
@dataclass(frozen=True, slots=True)
class Row:
    """One data row as read: its spreadsheet row number and its cells, aligned to the headers.

    Cells are normalised strings ("" = blank): `993.0` -> "993", surrounding spaces trimmed
    except in secret columns. `facts`, keyed by cell index, is set only for the rare rows
    with a cell whose text does not tell everything (an error value, a merged range...).
    """

    number: int  # as the user sees it in the spreadsheet (header = 1)
    cells: tuple[str, ...]
    facts: Mapping[int, CellFact] | None = None

    def __repr__(self) -> str:
        # A row does not know which of its cells are secret: it shows none of them.
        return f"Row(number={self.number}, cells=<{len(self.cells)} cells, not shown>)"


@_fast_init
@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about one cell (or the whole row when column is "")."""

    row: int
    column: str  # canonical field name, or "" for the row
    code: str  # stable, kebab-case: "port-out-of-range"
    severity: Severity
    message: str  # names the value (unless secret) and what is wrong
    hint: str = ""  # what to do about it

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.message}" + (f" ({self.hint})" if self.hint else "")


@_fast_init
@dataclass(frozen=True, slots=True)
class Account:
    """A validated row, typed as the API takes it, plus whose portal it goes to."""

    email: str
    name: str
    account: str
    password: str = field(repr=False)
    server: str
    port: int
    imap: bool
    incoming_encryption_type: int
    auth_type_in: int
    smtp_server: str
    smtp_port: int
    smtp_auth: bool
    smtp_account: str
    smtp_password: str = field(repr=False)
    outcoming_encryption_type: int
    auth_type_smtp: int
    restrict: bool
    portal_user: str | None = None  # None: the run's --user
    portal_password: str | None = field(default=None, repr=False)

    def payload(self) -> dict[str, Any]:
        """Return the JSON body of `POST api/2.0/mail/accounts` (the API's 17 keys)."""
        return {
            "name": self.name,
            "email": self.email,
            "account": self.account,
            "password": self.password,
            "port": self.port,
            "server": self.server,
            "smtp_account": self.smtp_account,
            "smtp_password": self.smtp_password,
            "smtp_port": self.smtp_port,
            "smtp_server": self.smtp_server,
            "smtp_auth": self.smtp_auth,
            "imap": self.imap,
            "restrict": self.restrict,
            "incoming_encryption_type": self.incoming_encryption_type,
            "outcoming_encryption_type": self.outcoming_encryption_type,
            "auth_type_in": self.auth_type_in,
            "auth_type_smtp": self.auth_type_smtp,
        }


@_fast_init
@dataclass(frozen=True, slots=True)
class Checked:
    """A row after validation: the account to send (None when an error blocks it)."""

    row: Row
    account: Account | None
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return self.account is not None


@_fast_init
@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one input row; every input row ends as exactly one Outcome."""

    row: Row
    status: Status
    stage: Stage | None = None  # set for failed rows
    code: str = ""  # stable: "mailbox-login-refused", "done-earlier", "exists" ...
    message: str = ""
    hint: str = ""
    attempts: int = 0
    http_status: int | None = None
    mailbox_id: int | None = None
    elapsed: float = 0.0  # seconds spent sending this row
    problems: tuple[Problem, ...] = ()  # validation findings, warnings and notes included
    portal_user: str = ""
    email: str = ""
    done_at: str = ""  # when it was created, updated or skipped, local ISO time with offset
    transient: bool = False  # a failure worth retrying on the next run (network, 503 ...)
    # seconds the portal took to answer the row's last create, 0.0 when none was answered
    latency: float = 0.0
    # the incoming server the row was sent to or checked (its cell, or --set, --defaults,
    # autofill), "" for a row validation refused: report.html groups failures by it
    server: str = ""


@dataclass(frozen=True, slots=True)
class Table:
    """A read input: headers, which canonical field each column is, and a stream of rows."""

    headers: tuple[str, ...]
    fields: tuple[str | None, ...]  # canonical field per column, None = ignored column
    info: InputInfo
    rows: Iterator[Row]
    problems: tuple[Problem, ...] = ()  # header-level findings (unknown columns ...)
    size_hint: int | None = None  # data rows, when known without reading them (XLSX)
    header_row: int = 1  # the spreadsheet row the header was found in

    def column_of(self, name: str) -> int | None:
        """Return the index of the column mapped to canonical field `name`, if any."""
        try:
            return self.fields.index(name)
        except ValueError:
            return None

    def values(self, row: Row) -> Mapping[str, str]:
        """Return the row's cells keyed by canonical field (ignored columns left out)."""
        return {f: c for f, c in zip(self.fields, row.cells, strict=False) if f is not None}


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts and timings of one run, as written to summary.json."""

    command: str  # "validate" or "import"
    total: int
    counts: Mapping[str, int]  # Status value -> rows
    exit_code: int
    input: InputInfo
    started_at: str
    finished_at: str
    seconds: float
    problems: Mapping[str, int] = field(default_factory=dict)  # problem code -> occurrences
    extra: Mapping[str, Any] = field(default_factory=dict)  # portal URL, concurrency ...
