"""The dry run without network: read -> validate -> report. `jobs` builds the import on it.

Kept apart from `jobs` so that `bulkmail validate` never loads the HTTP stack.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bulkmail.report.collector import Collector, RunResult
from bulkmail.logs import get_logger
from bulkmail.models import Checked, Outcome, Stage, Status, Table
from bulkmail.reader.table import read
from bulkmail.reader.refeed import fill_secrets
from bulkmail.report.writer import ReportWriter, new_report_folder
from bulkmail.settings import InputSettings
from bulkmail.validation.table import check_columns, validate

Now = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def load(inp: InputSettings) -> Table:
    """Read the input, fill masked secrets from an original sheet, check required columns."""
    table = read(inp.path, sheet=inp.sheet, encoding=inp.encoding, delimiter=inp.delimiter)
    if inp.secrets_from is not None:
        table = fill_secrets(table, read(inp.secrets_from))
    check_columns(table, inp.defaults)
    return table


def invalid(checked: Checked) -> Outcome:
    """Return the outcome of a row whose errors keep it from being sent."""
    return Outcome(
        row=checked.row, status=Status.FAILED, stage=Stage.VALIDATION, problems=checked.problems
    )


def validate_file(
    inp: InputSettings, report_dir: Path, *, run_user: str | None = None, now: Now = utcnow
) -> RunResult:
    """Read and validate `inp`, write the report, send nothing."""
    log = get_logger()
    started, t0 = now(), time.perf_counter()
    table = load(inp)
    folder = new_report_folder(report_dir, "validate", started)
    with ReportWriter(folder, table.headers, table.fields) as writer:
        collect = Collector(writer, log, command="validate")
        for checked in validate(table, defaults=inp.defaults, run_user=run_user):
            if checked.account is None:
                collect(invalid(checked))
            else:
                collect(Outcome(row=checked.row, status=Status.VALID, problems=checked.problems))
        return collect.finish(
            info=table.info,
            started=started,
            finished=now(),
            seconds=time.perf_counter() - t0,
            aborted=False,
            header_problems=table.problems,
            extra={},
        )
