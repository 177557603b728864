"""bulkmail: onboard a whole organisation's mail accounts into ONLYOFFICE / R7-Office portals.

The stages are usable without the command line: `read` a sheet, `validate` its rows, `run`
them through the portal (`import_file` does all of it with a report), `ReportWriter` the
outcomes.
"""

from __future__ import annotations

from bulkmail._version import __version__
from bulkmail.collect import RunResult
from bulkmail.errors import AbortError, BulkmailError, ConfigError, InputError, LockedError
from bulkmail.jobs import import_async, import_file, validate_file
from bulkmail.journal import Journal
from bulkmail.models import (
    Account,
    Checked,
    InputInfo,
    Outcome,
    Problem,
    Row,
    Severity,
    Stage,
    Status,
    Summary,
    Table,
)
from bulkmail.portal import Identity, PortalClient, Verdict
from bulkmail.reader import read
from bulkmail.reporter import ReportWriter, new_report_folder
from bulkmail.runner import Job, Runner
from bulkmail.settings import InputSettings, PortalSettings
from bulkmail.template import write_template
from bulkmail.validator import check_columns, validate

__all__ = [
    "AbortError",
    "Account",
    "BulkmailError",
    "Checked",
    "ConfigError",
    "Identity",
    "InputError",
    "InputInfo",
    "InputSettings",
    "Job",
    "Journal",
    "LockedError",
    "Outcome",
    "PortalClient",
    "PortalSettings",
    "Problem",
    "ReportWriter",
    "Row",
    "RunResult",
    "Runner",
    "Severity",
    "Stage",
    "Status",
    "Summary",
    "Table",
    "Verdict",
    "__version__",
    "check_columns",
    "import_async",
    "import_file",
    "new_report_folder",
    "read",
    "validate",
    "validate_file",
    "write_template",
]
