"""summary.json for a run that stopped before its report: exit 2 or 3, and why.

Monitoring reads one file whatever happened (GUIDE: "exit code and summary.json tell the
monitoring what happened"). A run that stops on its input, a password file, the portal's
login or a lock has no rows to report, but it knows its report folder once its options are
parsed (`--report-dir`, the command, the start time): this writes there a summary.json with
the keys of a normal one (`summary_dict`: no rows in any status) and the run's `error`.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from bulkmail import files
from bulkmail.files import Access
from bulkmail.models import InputInfo, Summary
from bulkmail.report.escaping import json_printable
from bulkmail.report.writer import SUMMARY_JSON, new_report_folder, summary_dict


def write_failed_summary(
    report_dir: Path,
    *,
    command: str,
    input_path: str,
    started: datetime,
    finished: datetime,
    exit_code: int,
    error: str,
    access: Access,
    folder: Path | None = None,
) -> Path:
    """Write summary.json in a new report folder of `report_dir` for a run that stopped
    with `error` (one line) and `exit_code`; return its path. A run interrupted while it
    wrote its report gives its `folder`: the summary goes there, beside its rows.

    `input.format` is "" (the input was not read, or not to the end); every count is 0;
    `report` names summary.json only. Secrets are scrubbed as in every summary.json.
    Raises BulkmailError (ConfigError) when no folder can be made, OSError when the file
    cannot be written: the caller still has its error line to print.
    """
    folder = folder or new_report_folder(report_dir, command, started, access)
    summary = Summary(
        command=command,
        total=0,
        counts={},
        exit_code=exit_code,
        input=InputInfo(path=input_path, format=""),
        started_at=started.isoformat(timespec="seconds"),
        finished_at=finished.isoformat(timespec="seconds"),
        seconds=max(0.0, (finished - started).total_seconds()),
        extra={"error": error},
    )
    data = summary_dict(summary) | {"report": {"summary_json": SUMMARY_JSON}}
    path = folder / SUMMARY_JSON
    text = json_printable(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    files.replace(path, (text + "\n").encode("utf-8"), access.file)
    return path
