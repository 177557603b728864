"""What a Python caller passes, turned into what the stages take.

A run's input (`Source`) is a file path, the rows themselves (a list of mappings, a pandas
DataFrame, a `Table`) or an `InputSettings`; its options are plain keywords named as the
command line's options (`--dry-run` -> `dry_run`, `--user` -> `user`), or the settings
objects as before. `validate` takes the same sources and yields `Checked` rows that can also
be read as `RowResult`s or a DataFrame.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal, TypedDict

from bulkmail.errors import ConfigError
from bulkmail.keywords import check_kind, kind_of
from bulkmail.models import Checked, Table
from bulkmail.portal.address import portal_root
from bulkmail.reader.defaults import from_mapping
from bulkmail.reader.records import is_records
from bulkmail.reader.records import table as records_table
from bulkmail.report.results import RowResult, RowResultMaker, to_pandas
from bulkmail.settings import InputSettings, PortalSettings

__all__ = ["Checks", "InputOptions", "PortalOptions", "Source", "table", "validate"]

Source = InputSettings | str | os.PathLike[str] | Table | Sequence[Mapping[str, Any]] | Any
"""A run's rows: a file path, an InputSettings, a Table, a list of mappings or a DataFrame."""

table = records_table


class InputOptions(TypedDict, total=False):
    """The input's keywords, as the command line's options (`InputSettings`'s fields)."""

    sheet: str | None
    encoding: str | None
    delimiter: str | None
    defaults: Mapping[str, str]  # --set / --defaults: values for blank cells
    secrets_from: str | os.PathLike[str] | None
    autofill: bool | Literal["known", "portal"]  # True: "known"; "portal" for imports only


class PortalOptions(TypedDict, total=False):
    """The portal's keywords, as the command line's options (`PortalSettings`'s fields)."""

    user: str | None
    password: str | None
    concurrency: int | Literal["auto"] | None  # "auto" or None: adaptive, as --concurrency auto
    max_concurrency: int
    give_up_after: float
    timeout: float
    retries: int
    per_server: int
    max_login_failures: int
    if_exists: Literal["skip", "update"]
    dry_run: bool
    state: str | os.PathLike[str] | None
    fresh: bool
    retry_failed: bool
    grace: float
    progress: bool
    progress_every: float
    ca_bundle: str | os.PathLike[str] | None
    admin: str | None
    admin_password: str | None
    portal_user_from: Literal["email"] | None
    list_existing: bool


class ImportOptions(InputOptions, PortalOptions, total=False):
    """Every keyword of `import_file`: the input's and the portal's."""


_INPUT: Final = frozenset(InputOptions.__annotations__)
_PORTAL: Final = frozenset(PortalOptions.__annotations__)
_PATHS: Final = frozenset({"secrets_from", "state", "ca_bundle"})


def input_settings(source: Source, options: Mapping[str, Any], caller: str) -> InputSettings:
    """Return the InputSettings of `source` and the input's keywords in `options`.

    Raises TypeError for a keyword `caller` does not take, ConfigError for one of the wrong
    kind (`bulkmail.keywords`) or keywords given with an InputSettings (which already holds
    them all).
    """
    _refuse_unknown(options, _INPUT | (_PORTAL if caller.startswith("import") else set()), caller)
    given = {k: _as_path(k, v) for k, v in _checked(options, _INPUT, caller).items()}
    if isinstance(source, InputSettings):
        _settings_alone(caller, "an InputSettings", given)
        return source
    if isinstance(source, str | os.PathLike):
        return InputSettings(path=Path(source), **given)
    made = _table_source(source, caller)
    return InputSettings(path=Path(made.name), source=made, **given)


def _settings_alone(caller: str, settings: str, given: Mapping[str, Any]) -> None:
    """Refuse keywords given beside a settings object, which already holds them all."""
    if given:
        raise ConfigError(
            f"{caller}() got {settings} and the keywords {', '.join(sorted(given))}",
            "give one or the other",
        )


def portal_settings(
    portal: str | PortalSettings | None, options: Mapping[str, Any], caller: str
) -> PortalSettings:
    """Return the PortalSettings of `portal` (its URL, or the settings themselves) and the
    portal's keywords in `options`; ConfigError for no portal or one that is no portal root
    (`portal.address`), a keyword of the wrong kind, a login without its password, or
    keywords with settings."""
    given = {k: _as_path(k, v) for k, v in _checked(options, _PORTAL, caller).items()}
    if isinstance(portal, PortalSettings):
        _settings_alone(caller, "a PortalSettings", given)
        return portal
    if portal is not None and not isinstance(portal, str):
        raise ConfigError(
            f"{caller}(): portal must be the portal's URL or a PortalSettings, "
            f"not {kind_of(portal)}",
            f"{caller}(..., portal='https://portal.example.org', user=..., password=...)",
        )
    if not isinstance(portal, str) or not portal.strip():
        raise ConfigError(
            f"{caller}() needs the portal's address",
            f"{caller}(..., portal='https://portal.example.org', user=..., password=...)",
        )
    portal = portal_root(
        portal, f"{caller}(): portal", "the login in user= and its password in password="
    )
    _refuse_missing_password(given, caller)
    if given.get("concurrency") == "auto":
        given["concurrency"] = None
    return PortalSettings(url=portal, **given)


def _refuse_missing_password(given: Mapping[str, Any], caller: str) -> None:
    """Raise ConfigError for a login given without its password: the run would log in with
    none, a refused login the portal's brute-force guard counts (the command line asks)."""
    for login, password in (("user", "password"), ("admin", "admin_password")):
        if login == "user" and given.get("admin"):
            continue  # --admin acts as --user too: no password of its own
        if given.get(login) and not given.get(password):
            raise ConfigError(
                f"{caller}(): {login}={given[login]!r} was given without its {password}=",
                f"{caller}(..., {login}=..., {password}=os.environ['BULKMAIL_"
                f"{password.upper()}'], say: never a password in the source",
            )


class _TableSource:
    """Calls return a Table of the same rows: built anew from records that can be read again
    (a list, a DataFrame), or the one Table given, once."""

    def __init__(self, name: str, make: Callable[[], Table], again: bool) -> None:
        self.name, self._make, self._again, self._used = name, make, again, False

    def __call__(self) -> Table:
        if self._used and not self._again:
            raise ConfigError(
                "the rows were given as a Table or a one-pass iterator, which can be read "
                "once, and this run reads them twice (admin=, --admin, first reads every "
                "row's owner; autofill='portal' every row's domain)",
                "pass a list of records, a DataFrame or the file",
            )
        self._used = True
        return self._make()


def _table_source(source: Any, caller: str) -> _TableSource:
    if isinstance(source, Table):
        return _TableSource(source.info.path, lambda: source, again=False)
    if is_records(source):
        name = "DataFrame" if not isinstance(source, list | tuple) else "records"
        return _TableSource(name, lambda: records_table(source), again=True)
    if isinstance(source, Iterator):  # a generator of records: one pass
        once = records_table(source)
        return _TableSource("records", lambda: once, again=False)
    raise ConfigError(
        f"{caller}() cannot read a {type(source).__name__}",
        "pass a file path, a list of dicts (one per mailbox), a pandas DataFrame or a Table",
    )


def _refuse_unknown(
    options: Mapping[str, Any], known: frozenset[str] | set[str], caller: str
) -> None:
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(
            f"{caller}() got an unexpected keyword argument {unknown[0]!r}; "
            f"it takes {', '.join(sorted(known))}"
        )


def _checked(options: Mapping[str, Any], names: frozenset[str], caller: str) -> dict[str, Any]:
    """Return the keywords of `options` among `names`, each checked for its kind
    (`bulkmail.keywords`, ConfigError), `defaults` as canonical field -> cell text and
    `autofill` as InputSettings takes it."""
    given = {k: v for k, v in options.items() if k in names}
    for name, value in given.items():
        check_kind(name, value, f"{caller}()")
    if "defaults" in given:
        given["defaults"] = from_mapping(given["defaults"], f"{caller}()")
    if "autofill" in given:
        given["autofill"] = autofill_setting(given["autofill"], caller)
    return given


def autofill_setting(choice: bool | str, caller: str) -> Any:  # bool | PortalSetups
    """Return InputSettings.autofill for a caller's `autofill` ("known" or True: the provider
    table; "portal": the portal's answers, which only an import asks for)."""
    if choice == "portal":
        if not caller.startswith("import"):
            raise ConfigError(
                f"{caller}(): autofill='portal' asks the portal, which only an import does",
                "use autofill='known', or import_file(..., autofill='portal', dry_run=True)",
            )
        from bulkmail.validation.autofill import PortalSetups

        return PortalSetups()
    return bool(choice)


def _as_path(name: str, value: Any) -> Any:
    return Path(value) if name in _PATHS and isinstance(value, str | os.PathLike) else value


class Checks(Iterator[Checked]):
    """The rows of one table as they are validated: iterate for `Checked` rows, or read them
    as `RowResult`s (`results`) or a DataFrame (`to_pandas`). One pass: each row is read once."""

    def __init__(self, table: Table, checked: Iterator[Checked]) -> None:
        self.table = table
        self._checked = checked
        self._maker = RowResultMaker(table.headers, table.fields)

    def __next__(self) -> Checked:
        return next(self._checked)

    def results(self) -> Iterator[RowResult]:
        """Yield the RowResult of each row not yet read (status "valid" or "failed")."""
        for checked in self:
            yield self._maker.checked(checked)

    def to_pandas(self) -> Any:  # a pandas.DataFrame
        """Return the rows not yet read as a DataFrame (`RowResults.to_pandas`)."""
        return to_pandas(self.results())


def validate(
    source: Source,
    *,
    defaults: Mapping[str, Any] | None = None,
    run_user: str | None = None,
    autofill: bool | Literal["known"] = False,
) -> Checks:
    """Check the columns now (InputError), then validate the rows of `source` one by one.

    `source`: a Table (`bulkmail.read`), a list of mappings or a DataFrame
    (`bulkmail.table`), or a file path. `defaults` fill blank cells (--set); `run_user` is
    the portal login that owns rows without a portal_user (--user); `autofill` fills blank
    server settings from the provider table (--autofill known). Sends nothing.
    """
    from bulkmail.pipeline import read_input
    from bulkmail.validation.table import validate as validate_rows

    options = {"autofill": autofill} | ({"defaults": defaults} if defaults is not None else {})
    inp = input_settings(source if not isinstance(source, Table) else "-", options, "validate")
    check_kind("user", run_user, "validate(): run_user")
    table = source if isinstance(source, Table) else read_input(inp)
    checked = validate_rows(table, defaults=inp.defaults, run_user=run_user, autofill=inp.autofill)
    return Checks(table, checked)
