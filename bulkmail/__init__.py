"""bulkmail: onboard a whole organisation's mail accounts into ONLYOFFICE / R7-Office portals.

The stages are usable without the command line: `read` a sheet (or `table` your own records,
a list of dicts or a pandas DataFrame), `validate` its rows, `run` them through the portal
(`import_file` does all of it with a report, and its result has every row's `RowResult`),
`ReportWriter` the outcomes. Nothing is logged unless you ask: `bulkmail.logs.configure()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bulkmail._lazy import lazy_exports as _lazy_exports
from bulkmail._version import __version__

if TYPE_CHECKING:
    from bulkmail.errors import AbortError, BulkmailError, ConfigError, InputError, LockedError
    from bulkmail.journal.store import Journal
    from bulkmail.library import Checks, table, validate
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
    from bulkmail.pipeline import import_async, import_file, validate_file
    from bulkmail.portal.client import Identity, PortalClient, Verdict
    from bulkmail.reader.table import read
    from bulkmail.report.collector import RunResult
    from bulkmail.report.results import RowResult, RowResults
    from bulkmail.report.writer import ReportWriter, new_report_folder
    from bulkmail.run.jobs import Job
    from bulkmail.run.pool import Runner
    from bulkmail.settings import InputSettings, PortalSettings
    from bulkmail.template import write_template
    from bulkmail.validation.table import check_columns

__all__ = [
    "AbortError",
    "Account",
    "BulkmailError",
    "Checked",
    "Checks",
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
    "RowResult",
    "RowResults",
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
    "table",
    "validate",
    "validate_file",
    "write_template",
]

# Names are imported on first use (PEP 562): `bulkmail --help` or `bulkmail validate` should
# not pay for the simulator's web stack or the HTTP client they never touch.
_WHERE: dict[str, str] = {  # public name -> the module that defines it
    "AbortError": "bulkmail.errors",
    "Account": "bulkmail.models",
    "BulkmailError": "bulkmail.errors",
    "Checked": "bulkmail.models",
    "Checks": "bulkmail.library",
    "ConfigError": "bulkmail.errors",
    "Identity": "bulkmail.portal.client",
    "InputError": "bulkmail.errors",
    "InputInfo": "bulkmail.models",
    "InputSettings": "bulkmail.settings",
    "Job": "bulkmail.run.jobs",
    "Journal": "bulkmail.journal.store",
    "LockedError": "bulkmail.errors",
    "Outcome": "bulkmail.models",
    "PortalClient": "bulkmail.portal.client",
    "PortalSettings": "bulkmail.settings",
    "Problem": "bulkmail.models",
    "ReportWriter": "bulkmail.report.writer",
    "Row": "bulkmail.models",
    "RowResult": "bulkmail.report.results",
    "RowResults": "bulkmail.report.results",
    "RunResult": "bulkmail.report.collector",
    "Runner": "bulkmail.run.pool",
    "Severity": "bulkmail.models",
    "Stage": "bulkmail.models",
    "Status": "bulkmail.models",
    "Summary": "bulkmail.models",
    "Table": "bulkmail.models",
    "Verdict": "bulkmail.portal.client",
    "check_columns": "bulkmail.validation.table",
    "import_async": "bulkmail.pipeline",
    "import_file": "bulkmail.pipeline",
    "new_report_folder": "bulkmail.report.writer",
    "read": "bulkmail.reader.table",
    "table": "bulkmail.library",
    "validate": "bulkmail.library",
    "validate_file": "bulkmail.pipeline",
    "write_template": "bulkmail.template",
}


__getattr__, __dir__ = _lazy_exports(__name__, _WHERE)
