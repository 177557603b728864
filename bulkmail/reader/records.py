"""Records already in memory -> a Table: a list of mappings, or a pandas DataFrame.

The keys (or the DataFrame's columns) are the header row and go through the same aliases as
a sheet's header (`reader.header.map_headers`); the values get the cell rules of a workbook
(`reader.table.workbook_rows`): 993.0 -> "993", a date as ISO text and, in a text column such
as a password, the same `date-in-text-column` error a sheet's date cell gets. A missing value
(None, NaN, pandas' NA and NaT) is a blank cell. Rows are numbered as in a sheet whose header
is row 1: the first record is row 2.

pandas is imported only to read a DataFrame given here, never otherwise.
"""

from __future__ import annotations

import datetime
import math
import sys
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from itertools import chain
from typing import Any, Final

from bulkmail.errors import InputError
from bulkmail.models import InputInfo, Row, Table
from bulkmail.reader.header import map_headers
from bulkmail.reader.table import cell_text, workbook_rows
from bulkmail.schema import REQUIRED_FIELDS
from bulkmail.secrets import quotable

__all__ = ["is_records", "table"]

_FIX: Final = "pass a list of dicts (one per mailbox, keyed by column name) or a pandas DataFrame"
_SCALARS: Final = frozenset(
    {str, int, float, bool, type(None), Decimal, datetime.datetime, datetime.date}
    | {datetime.time, datetime.timedelta}
)
"""The types of value a cell holds, which need no closer look."""


def table(records: Any, *, columns: Sequence[str] | None = None) -> Table:
    """Return the Table of `records`: an iterable of mappings, or a pandas DataFrame.

    `columns`: the header, in order: the keys read, others left out (as a DataFrame's
    `frame[columns]`); by default the keys of every record of a list or tuple in the order
    first seen, or those of the first record of any other iterable (which is then read once,
    as it streams). No records at all (a directory query that found no one) is a sheet of
    just the required columns' header: no rows, nothing to do. A streamed record with a key
    the first lacks raises InputError (unless columns= chose the keys), as does anything
    that is not records (a string, a path, a mapping).
    """
    chosen = columns is not None  # columns= picks the keys read, as a DataFrame's columns
    if columns is not None:
        columns = _column_list(columns)
    if _is_dataframe(records):
        return _from_dataframe(records, columns)
    if isinstance(records, str | bytes | Mapping) or not isinstance(records, Iterable):
        raise InputError(f"bulkmail.table() takes records, not {_kind(records)}", _FIX)
    stream: Iterator[Any] = iter(records)
    if columns is None and isinstance(records, Sequence):
        columns = _keys_of(records) if records else list(REQUIRED_FIELDS)
    elif columns is None:
        first = next(stream, None)
        columns = _keys_of([first]) if first is not None else list(REQUIRED_FIELDS)
        stream = chain([first] if first is not None else [], stream)
    headers = tuple(_header(c) for c in columns)
    fields, problems = map_headers(headers)
    rows = workbook_rows(_values(stream, tuple(columns), chosen), fields)
    info = InputInfo(path="records", format="records")
    size = len(records) if isinstance(records, Sequence) else None
    return Table(headers, fields, info, rows, tuple(problems), size_hint=size)


def is_records(source: Any) -> bool:
    """Return whether `source` is what `table` takes (a DataFrame, or a list of mappings)."""
    if _is_dataframe(source):
        return True
    if isinstance(source, list | tuple):
        return all(isinstance(r, Mapping) for r in source[:1])
    return False


def blank(value: Any) -> Any:
    """Return None for a missing value (None, NaN, pandas' NA or NaT), else a plain Python
    value: a numpy scalar becomes its Python twin, as a workbook reader would give it."""
    if value is None or (type(value) is float and math.isnan(value)):
        return None
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()  # np.float64(993.0) -> 993.0, np.bool_ -> bool
        return None if type(value) is float and math.isnan(value) else value
    pandas = sys.modules.get("pandas")  # loaded already if the values come from it
    if pandas is not None and type(value).__module__.startswith("pandas"):
        try:
            return None if pandas.isna(value) else value
        except (TypeError, ValueError):  # not a scalar: its text, as any other object
            return value
    return value


def _values(
    stream: Iterator[Any], columns: tuple[Any, ...], chosen: bool
) -> Iterator[tuple[int, list[Any]]]:
    """Yield each record's values under `columns`; a key outside them is an error unless
    the columns were `chosen` (columns=), which leaves the other keys out."""
    known = frozenset(columns)
    for number, record in enumerate(stream, 2):
        if not isinstance(record, Mapping):
            raise InputError(f"record {number - 1} is {_kind(record)}, not a mapping", _FIX)
        extra = [] if chosen else [k for k in record if k not in known]
        if extra:
            raise InputError(
                f"record {number - 1} has the key {_quoted(extra[0])}, which the header "
                f"({len(columns)} columns, from the first record) lacks",
                "give every record the same keys, pass a list, or name them with columns=",
            )
        values = [blank(record.get(c)) for c in columns]
        if not _SCALARS.issuperset(map(type, values)):
            _refuse_objects(values, columns, number)
        yield number, values


def _keys_of(records: Iterable[Any]) -> list[Any]:
    seen: dict[Any, None] = {}
    for index, record in enumerate(records, 1):
        if not isinstance(record, Mapping):
            raise InputError(f"record {index} is {_kind(record)}, not a mapping", _FIX)
        seen.update(dict.fromkeys(record))
        if not _SCALARS.issuperset(map(type, record.values())):
            _refuse_objects([blank(v) for v in record.values()], list(record), index + 1)
    return list(seen)


def _refuse_objects(values: Sequence[Any], columns: Sequence[Any], number: int) -> None:
    """Raise InputError for the first value no cell can hold (bytes, a list, a dict...):
    its text (`b'...'`, `['...']`) would be sent as the value, a password too."""
    for column, value in zip(columns, values, strict=True):
        if isinstance(value, bytes | bytearray | memoryview):
            fix = "decode it first (value.decode()), or give the text itself"
        elif isinstance(value, Mapping) or (
            isinstance(value, Collection) and not isinstance(value, str)
        ):
            fix = "give one value per cell (the first of a list, say), or leave the key out"
        else:
            continue
        raise InputError(
            f"record {number - 1} (row {number}): {_quoted(column)} holds {_kind(value)}, "
            "not a value a cell holds (text, a number, a date or true/false)",
            fix,
        )


def _header(key: Any) -> str:
    return cell_text(key) if isinstance(key, str) else cell_text(str(key))


def _is_dataframe(value: Any) -> bool:
    pandas = sys.modules.get("pandas")  # a DataFrame means pandas is loaded already
    return pandas is not None and isinstance(value, pandas.DataFrame)


def _from_dataframe(frame: Any, columns: Sequence[str] | None) -> Table:
    if frame.columns.nlevels > 1:
        raise InputError(
            f"the DataFrame's columns have {frame.columns.nlevels} levels (a MultiIndex)",
            "flatten them to one name each: frame.columns = frame.columns.get_level_values(-1)",
        )
    named = [name for name in frame.index.names if name is not None]
    if named:  # as to_excel writes them: a named index (set_index("email")) is columns too
        clash = [name for name in named if name in frame.columns]
        if clash:
            raise InputError(
                f"the DataFrame has {_quoted(clash[0])} both as a column and in its index",
                "drop one of them (frame.reset_index(drop=True) drops the index)",
            )
        frame = frame.reset_index(level=named)
    if columns is not None:
        missing = [c for c in _column_list(columns) if c not in frame.columns]
        if missing:
            raise InputError(
                f"columns= names {_quoted(missing[0])}, which the DataFrame lacks",
                f"name only its columns: {', '.join(map(_quoted, frame.columns))}",
            )
        frame = frame[list(columns)]
    if not frame.columns.is_unique:
        twice = frame.columns[frame.columns.duplicated()][0]
        raise InputError(
            f"the DataFrame has the column {_quoted(twice)} twice", "rename one of them"
        )
    if frame.empty and not len(frame.columns):
        frame = frame.reindex(columns=REQUIRED_FIELDS)
    names = list(frame.columns)
    headers = tuple(_header(c) for c in names)
    fields, problems = map_headers(headers)
    records = (
        (number, _cells([blank(v) for v in values], names, number))
        for number, values in enumerate(frame.itertuples(index=False, name=None), 2)
    )
    info = InputInfo(path="DataFrame", format="dataframe")
    rows: Iterator[Row] = workbook_rows(records, fields)
    return Table(headers, fields, info, rows, tuple(problems), size_hint=len(frame))


def _cells(values: list[Any], columns: Sequence[Any], number: int) -> list[Any]:
    if not _SCALARS.issuperset(map(type, values)):
        _refuse_objects(values, columns, number)
    return values


def _quoted(key: Any) -> str:
    """Return a key or column name as a message may quote it: a name that could be a value
    (a password among the keys of records built from a data row) is not shown."""
    text = _header(key)
    return repr(text) if quotable((text,))[0] else "a name that looks like a value (not shown)"


def _column_list(columns: Any) -> list[Any]:
    if isinstance(columns, str | bytes) or not isinstance(columns, Iterable):
        raise InputError(
            f"columns= takes the header's names in order, not {_kind(columns)}",
            "columns=['email', 'password', ...]",
        )
    return list(columns)


def _kind(value: Any) -> str:
    name = type(value).__name__  # never the value: it may be a row's password
    return f"{'an' if name[:1] in tuple('aeiou') else 'a'} {name}"
