"""The code registry: every code bulkmail emits is a registered one, and the README lists them.

Three nets catch a code that is not in `bulkmail.codes`:
- statically, every module under bulkmail/ (the registry and the simulator aside, which keeps
  its own copy of the portal's texts) is read as an AST: a string shaped like a code is either
  a registry code written as a literal (name the member instead) or a new, unregistered code;
  and a Problem, Verdict, Outcome or emitter given its code as text is refused whatever the
  text's shape;
- by type: the emitters take a `Code`, so mypy refuses a string;
- at run time: the validator's, reader's and answers' tables assert that each code they see
  is a `Code` member (`tests/validation`, `tests/portal`, and the sheet below).
"""

from __future__ import annotations

import ast
import codecs
import re
from pathlib import Path

import pytest

from bulkmail.codes import Code, Origin
from bulkmail.models import Severity, Stage
from bulkmail.reader.table import read
from bulkmail.validation.table import validate

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bulkmail"
CODE_SHAPE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)+")
# Code-shaped strings that are not codes (encoding names are recognised by `codecs`).
NOT_CODES = frozenset(
    {
        "content-type",  # HTTP headers
        "content-length",
        "content-encoding",
        "retry-after",
        "e-mail",  # a header alias
        "fake-mailbox-password",  # the template's example row
        "fake-portal-password",
        "in-flight",  # a journal state
    }
)
# Calls that take a code, and the position of the code among their arguments; `code=` of
# any call counts too.
EMITTERS = {"Problem": 2, "Outcome": 3, "Verdict": 0, "Diagnosis": 0, "_verdict": 0, "add": 1}
EMITTERS |= {"not_attempted": 2}
REGISTERED = frozenset(code.value for code in Code)
PORTAL_STAGES = (Stage.LOGIN, Stage.PORTAL, Stage.NETWORK)


# --- the registry itself ----------------------------------------------------------------------


def test_every_code_is_kebab_case_and_named_after_its_text() -> None:
    assert [c.value for c in Code if not CODE_SHAPE.fullmatch(c) and not c.isalpha()] == []
    assert [c.name for c in Code if c.name != c.value.upper().replace("-", "_")] == []


def test_every_code_says_what_it_means_and_findings_what_to_do() -> None:
    for code in Code:
        assert isinstance(code.severity, Severity) and isinstance(code.stage, Stage | Origin)
        assert code.meaning and "\n" not in code.meaning + code.hint, code
        if code.severity is not Severity.INFO:
            assert code.hint, f"{code} has no hint"


def test_only_portal_answers_are_retried_or_fatal() -> None:
    flagged = {c for c in Code if c.retryable or c.fatal}
    assert flagged and all(c.stage in PORTAL_STAGES for c in flagged)
    fatal = {Code.PORTAL_NOT_PAID, Code.TLS_CERTIFICATE, Code.PORTAL_SESSION_ENDED}
    assert {c for c in Code if c.fatal} == fatal
    assert all(c.severity is Severity.ERROR for c in Code if c.stage in PORTAL_STAGES)


def test_a_code_is_its_text_everywhere() -> None:
    assert Code("port-out-of-range") is Code.PORT_OUT_OF_RANGE
    assert Code.PORT_OUT_OF_RANGE == "port-out-of-range"
    shown = (str(Code.TIMEOUT), repr(Code.TIMEOUT), f"{Code.TIMEOUT}", repr([Code.TIMEOUT]))
    assert shown == ("timeout", "'timeout'", "timeout", "['timeout']")
    assert {"timeout": 1}[Code.TIMEOUT] == 1


# --- no code outside the registry: the source -------------------------------------------------


def _modules() -> list[Path]:
    skipped = {PACKAGE / "codes.py"}
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if path not in skipped and "simulator" not in path.relative_to(PACKAGE).parts
    ]


def _is_text(node: ast.AST | None) -> bool:
    """Return whether `node` builds a string from literal text (a literal, f-string, +, or).

    "" is not text here: it is how an Outcome says it has no code.
    """
    match node:
        case ast.Constant(value=str(text)):
            return text != ""
        case ast.JoinedStr():
            return True
        case ast.BinOp(left=left, right=right):
            return _is_text(left) or _is_text(right)
        case ast.IfExp(body=body, orelse=orelse):
            return _is_text(body) or _is_text(orelse)
        case ast.BoolOp(values=values):
            return any(_is_text(v) for v in values)
    return False


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _is_encoding(text: str) -> bool:
    try:
        codecs.lookup(text)
    except LookupError:
        return False
    return True


def code_literals(source: str) -> list[tuple[int, str]]:
    """Return (line, what is wrong) for each code written as text in `source`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if text in REGISTERED and CODE_SHAPE.fullmatch(text):
                found.append((node.lineno, f'"{text}": write Code.{Code(text).name}'))
            elif CODE_SHAPE.fullmatch(text) and text not in NOT_CODES and not _is_encoding(text):
                found.append((node.lineno, f'"{text}": a new code? register it in codes.py'))
        elif isinstance(node, ast.Call):
            position = EMITTERS.get(_callee(node))
            args = [*node.args[position : position + 1]] if position is not None else []
            args += [k.value for k in node.keywords if k.arg == "code"]
            if any(_is_text(arg) for arg in args):
                found.append((node.lineno, f"{_callee(node)}() is given its code as text"))
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_writes_a_code_as_text(path: Path) -> None:
    where = path.relative_to(ROOT)
    wrong = [f"{where}:{line}: {what}" for line, what in code_literals(path.read_text())]
    assert wrong == []


@pytest.mark.parametrize(
    "source",
    [
        'found.add("port", "port-too-big", "port 70000")',  # a new code, in an emitter
        '_BY_STATUS = {409: ("account-conflict", "the portal refused")}',  # a new code, in a table
        'Problem(2, "", "overflow", Severity.WARNING, "too many rows")',  # one word, in Problem
        'Outcome(row=row, status=Status.SKIPPED, code="skip" + "ped")',  # built from pieces
        'not_attempted(job, NOT_SENT, "stopped" if fast else "halted")',
        'Verdict(f"{side}-timeout", Stage.PORTAL, "no answer", "", True)',
        'if answer.code == "portal-unauthorized": pass',  # a registered one, as a literal
    ],
)
def test_the_source_check_catches(source: str) -> None:
    assert code_literals(source) != []


@pytest.mark.parametrize(
    "source",
    [
        'found.add("port", Code.PORT_INVALID, f"{text} is not a port", f"write {text[:3]}")',
        'Outcome(row=row, status=Status.FAILED, code=entry.code, message="failed earlier")',
        'text.encode("utf-8"); headers.get("retry-after")',
        'log.info("row.created", code=outcome.code or None)',
    ],
)
def test_the_source_check_lets_through(source: str) -> None:
    assert code_literals(source) == []


# --- no code outside the registry: what runs ----------------------------------------------


def test_a_sheet_full_of_mistakes_gets_only_registered_codes(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(
        "email,password,server,port,smtp_server,Email,Colour\n"
        "anna@example.org,Secret-1,imap.example.org,99999,smtp.example.org,,\n"
        "anna@example.org,Secret-1,imap.example.org:993,995,smtp.example.org,,,extra\n"
        "bob@localhost,********,imap.example.org,x,,,\n",
        encoding="utf-8",
    )
    table = read(path)
    problems = [*table.problems, *(p for c in validate(table) for p in c.problems)]
    assert [p.code for p in problems if not isinstance(p.code, Code)] == []
    assert [p.code for p in problems if p.severity is not p.code.severity] == []
    assert {p.code for p in problems} >= {
        Code.DUPLICATE_COLUMN,
        Code.UNKNOWN_COLUMN,
        Code.EXTRA_CELLS,
        Code.PORT_OUT_OF_RANGE,
        Code.HOST_INVALID,
        Code.DUPLICATE_ACCOUNT,
        Code.EMAIL_NO_TLD,
        Code.PASSWORD_MASKED,
        Code.PORT_INVALID,
        Code.REQUIRED,
        Code.DEFAULTED,
    }


# --- the README's tables ----------------------------------------------------------------------

README = ROOT / "README.md"
TABLE_HEADER = "| code | severity | stage | what it means |"
BACKTICKED = re.compile(r"`([^`\n]+)`")
README_NOT_CODES = frozenset({"utf-16", "update-ca-certificates", "update-ca-trust"})  # commands


def readme_rows(text: str) -> list[tuple[str, ...]]:
    """Return the cells of every row of the README's code tables, in order."""
    rows: list[tuple[str, ...]] = []
    inside = False
    for line in text.splitlines():
        if line.strip() == TABLE_HEADER:
            inside = True
        elif inside and line.startswith("|") and not line.startswith("| ---"):
            rows.append(tuple(cell.strip() for cell in line.strip().strip("|").split("|")))
        elif not line.startswith("|"):
            inside = False
    return rows


def test_the_readme_lists_every_code_with_its_severity_stage_and_meaning() -> None:
    rows = readme_rows(README.read_text(encoding="utf-8"))
    listed = {row[0].strip("`"): row[1:] for row in rows}
    assert len(listed) == len(rows), "a code is listed twice"
    # A row is `| `code` | severity | stage | meaning |`, the registry's words exactly.
    assert listed == {c.value: (c.severity.value, c.stage.value, c.meaning) for c in Code}


def test_every_code_named_in_the_readme_is_registered() -> None:
    named = set(BACKTICKED.findall(README.read_text(encoding="utf-8")))
    shaped = {n for n in named if CODE_SHAPE.fullmatch(n)} - README_NOT_CODES
    assert sorted(shaped - REGISTERED) == []
