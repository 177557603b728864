"""A sweep of odd and damaged inputs, run as a user runs bulkmail, under a memory cap.

Every file, workbook or CSV, must end as a valid/invalid result (exit 0 or 1) or as one line
on stderr with exit 2: never a traceback, an abort (a Rust panic, a signal) or memory that
grows with something other than the data. The files are written here; the workbooks are the
reader tests' odd ones (tests/reader/test_odd_workbooks.py).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from test_odd_workbooks import odd_workbooks

pytestmark = pytest.mark.slow

MEMORY_CAP = 1 << 30  # bytes of address space for the child: far above what 2 rows need
HEADER = "email,password,server,smtp_server\n"
ROW = "anna@corp.example,Pw-1,imap.corp.example,smtp.corp.example\n"

# Runs in the child: validate each file as `bulkmail validate` does, report exit and stderr.
CHILD = """
import contextlib, io, json, sys
from bulkmail.cli import main
results = {}
for path in sys.argv[2:]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(["validate", path, "--report-dir", sys.argv[1], "--quiet"])
        except SystemExit as exit:
            code = exit.code
    results[path] = [code, err.getvalue()]
print(json.dumps(results))
"""


def odd_csvs(folder: Path) -> list[Path]:
    """Write CSVs nobody here would save on purpose; return their paths."""
    files = {
        "empty.csv": b"",
        "one-cell.csv": b"email\n",
        "header-only.csv": HEADER.encode(),
        "blank-lines.csv": b"\n\n\n\n",
        "cut-in-a-quote.csv": (HEADER + 'anna@corp.example,"Pw-1').encode(),
        "nul-bytes.csv": (HEADER + ROW).encode().replace(b"Pw-1", b"P\x00w-1"),
        "binary.csv": bytes(range(256)) * 64,
        "zip-named.csv": b"PK\x03\x04" + b"\x00" * 100,
        "utf16-no-bom.csv": (HEADER + ROW).encode("utf-16-le"),
        "wide.csv": (",".join(f"c{i}" for i in range(5000)) + "\n").encode(),
        "long-line.csv": (HEADER + "a@corp.example," + "x" * 200_000 + "\n").encode(),
        "only-separators.csv": b";;;;\n;;;;\n",
        "cr-only.csv": (HEADER + ROW).replace("\n", "\r").encode(),
        "named.tsv": (HEADER + ROW).encode(),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [folder / name for name in files]


def far_cell_workbook(folder: Path) -> Path:
    """Write a 2-row sheet with one space typed into its last cell, XFD1048576."""
    book = openpyxl.Workbook()
    book.active.append(HEADER.strip().split(","))
    book.active.append(ROW.strip().split(","))
    book.active["XFD1048576"] = " "
    book.save(folder / "far-cell.xlsx")
    return folder / "far-cell.xlsx"


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def test_odd_files_end_as_a_result_or_one_line_under_a_memory_cap(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    paths = [*odd_workbooks(inputs), far_cell_workbook(inputs), *odd_csvs(inputs)]
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "reports"), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,  # a hang guard: the whole sweep takes a few seconds
        preexec_fn=_cap,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-2000:]  # no abort, no MemoryError escaped
    results = json.loads(child.stdout)
    assert len(results) == len(paths) > 25
    for path, (code, err) in results.items():
        name = Path(path).name
        assert code in (0, 1, 2), (name, code, err)
        assert "Traceback" not in err, name
        if code == 2:
            assert err.count("\n") == 1 and err.startswith("bulkmail: error: "), (name, err)
    assert results[str(inputs / "far-cell.xlsx")][0] == 0  # its 2 rows valid, the cell warned
    refused = {Path(p).name for p, (code, _) in results.items() if code == 2}
    assert {"empty.csv", "binary.csv", "zip-named.csv", "wide.csv", "long-line.csv"} <= refused
