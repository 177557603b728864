"""The end-of-run summary scales: counts per code, one hint each, a few rows each, then "more".

Sheets of 800 and of 8 rows with the same mistakes print summaries of the same shape; the
warnings (a sheet with its IMAP and SMTP ports swapped) reach the screen apart from errors.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bulkmail.cli import main
from bulkmail.report.preview import CODES_SHOWN, ROWS_PER_CODE

HEADER = ["email", "password", "server", "port", "incoming_encryption_type", "smtp_server"]
# What goes wrong on every `every`th row (from row index `at`): (code, every, at, column, value)
MISTAKES = (
    ("email-invalid", 10, 3, "email", "{i}.corp.example.org"),
    ("port-out-of-range", 13, 5, "port", "99999"),
    ("encryption-invalid", 17, 6, "incoming_encryption_type", "TLS1.3"),
    ("host-invalid", 29, 7, "server", "imap corp"),
    ("port-invalid", 43, 1, "port", "abc"),
    ("oauth2-unsupported", 47, 2, "incoming_encryption_type", "SSL"),
    ("port-encryption-mismatch", 31, 8, "incoming_encryption_type", "StartTLS"),
)


def _sheet(path: Path, size: int) -> tuple[Path, dict[str, int]]:
    """Write `size` rows, each with at most one mistake; return the sheet and how many of each."""
    counts: dict[str, int] = {}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*HEADER, "auth_type_in"])
        for i in range(size):
            row = {
                "email": f"user{i}@corp.example.org",
                "password": f"Pw-{i}-secret",
                "server": "imap.corp.example.org",
                "port": "993",
                "incoming_encryption_type": "SSL",
                "smtp_server": "smtp.corp.example.org",
                "auth_type_in": "Login",
            }
            for code, every, at, column, value in MISTAKES:
                if i % every == at % every:
                    row[column] = value.format(i=i)
                    if code == "oauth2-unsupported":
                        row["auth_type_in"] = "OAuth2"
                    counts[code] = counts.get(code, 0) + 1
                    break
            writer.writerow(row.values())
    return path, counts


def _summary_json(folder: Path) -> dict[str, object]:
    [path] = folder.glob("*/summary.json")
    data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("size", [8, 800])
def test_the_summary_counts_every_code_and_shows_a_bounded_few_rows(
    size: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, counts = _sheet(tmp_path / "staff.csv", size)
    args = ["validate", str(path), "--user", "admin@corp.example.org"]
    assert main([*args, "--report-dir", str(tmp_path / "rep")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert all(line.isprintable() and "secret" not in line for line in lines)
    warnings = {"port-encryption-mismatch"}
    errors = {code: n for code, n in counts.items() if code not in warnings}
    # One hint per code, never one per row; at most ROWS_PER_CODE rows, then how many more.
    shown = sorted(errors.items(), key=lambda item: -item[1])[:CODES_SHOWN]
    assert len(lines) <= 2 + 1 + CODES_SHOWN * (3 + ROWS_PER_CODE) + 1 + 8 + 2
    for code, n in shown:
        start = lines.index(f"    {code}: {n}")
        assert lines[start + 1].startswith("      fix: ")
        rows = lines[start + 2 : start + 2 + min(n, ROWS_PER_CODE)]
        assert all(line.startswith("      row ") for line in rows)
        if n > ROWS_PER_CODE:
            more = f"      ... {n - ROWS_PER_CODE} more in the report's Failed sheet"
            assert lines[start + 2 + ROWS_PER_CODE] == more
    assert sum(line.startswith("      fix: ") for line in lines) == len(shown) + bool(
        counts.get("port-encryption-mismatch")
    )
    hidden = sorted(errors.items(), key=lambda item: -item[1])[CODES_SHOWN:]
    if hidden:
        n = sum(count for _, count in hidden)
        names = ", ".join(code for code, _ in hidden)
        many = "s" if len(hidden) > 1 else ""
        where = f"in the report's Failed sheet: {names}"
        counted = f"{n} error{'s' if n > 1 else ''}"
        assert f"    ... {len(hidden)} more code{many} ({counted}) {where}" in lines
    summary = _summary_json(tmp_path / "rep")
    assert summary["errors"] == dict(sorted(errors.items(), key=lambda item: -item[1]))
    assert summary["warnings"] == {k: n for k, n in counts.items() if k in warnings}


def test_an_800_row_sheet_says_how_many_more_of_each_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, counts = _sheet(tmp_path / "staff.csv", 800)
    args = ["validate", str(path), "--user", "admin@corp.example.org"]
    assert main([*args, "--report-dir", str(tmp_path / "rep")]) == 1
    lines = capsys.readouterr().out.splitlines()
    errors = sum(n for code, n in counts.items() if code != "port-encryption-mismatch")
    assert lines[1:3] == [
        f"  valid {800 - errors}, failed {errors}",
        f"  errors: {errors} in {errors} rows (6 codes)",
    ]
    assert lines[3:9] == [
        "    email-invalid: 80",
        "      fix: write one address like anna@example.org",
        '      row 5, email: "3.corp.example.org" has no @',
        '      row 15, email: "13.corp.example.org" has no @',
        '      row 25, email: "23.corp.example.org" has no @',
        "      ... 77 more in the report's Failed sheet",
    ]
    more_codes = [line for line in lines if line.startswith("    ... ")]
    oauth2 = counts["oauth2-unsupported"]
    assert more_codes == [
        f"    ... 1 more code ({oauth2} errors) in the report's Failed sheet: oauth2-unsupported"
    ]
    warned = counts["port-encryption-mismatch"]
    assert lines[-9:-5] == [
        f"  warnings: {warned} in {warned} rows (1 code)",
        f"    port-encryption-mismatch: {warned}",
        "      fix: set the encryption to SSL, or check the port",
        "      row 10, port: port 993 expects SSL, encryption is StartTLS",
    ]
    assert lines[-3] == f"      ... {warned - 3} more in the report's notes and warnings columns"


def test_a_sheet_with_imap_and_smtp_ports_swapped_shows_its_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "swapped.csv"
    path.write_text(
        "email,password,server,port,smtp_server,smtp_port\n"
        "anna@corp.example.org,Pw-1-secret,imap.corp.example.org,587,smtp.corp.example.org,993\n"
        "boris@corp.example.org,Pw-2-secret,imap.corp.example.org,993,smtp.corp.example.org,465\n",
        encoding="utf-8",
    )
    args = ["validate", str(path), "--user", "admin@corp.example.org"]
    assert main([*args, "--report-dir", str(tmp_path / "rep")]) == 0  # warnings do not block
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:8] == [
        "  valid 2",
        "  no errors",
        "  warnings: 2 in 1 row (1 code)",
        "    protocol-port-mismatch: 2",
        "      fix: use the port of the row's protocol, or fix imap",
        "      row 2, port: port 587 is an SMTP port",
        "      row 2, smtp_port: port 993 is not SMTP's",
    ]
    assert _summary_json(tmp_path / "rep")["warnings"] == {"protocol-port-mismatch": 2}


def test_a_header_with_unknown_columns_is_not_a_run_without_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "extra.csv"
    path.write_text(
        "email,password,server,smtp_server,Department\n"
        "anna@corp.example.org,Pw-1,imap.corp.example.org,smtp.corp.example.org,Sales\n",
        encoding="utf-8",
    )
    args = ["validate", str(path), "--user", "admin@corp.example.org"]
    assert main([*args, "--report-dir", str(tmp_path / "rep")]) == 0
    assert capsys.readouterr().out.splitlines()[1:4] == [
        "  valid 1",
        "  row 1: column E 'Department' is not a known column (it is ignored)",
        "  no errors",  # the header's warning is above: not "no errors, no warnings"
    ]
