"""report.html: one self-contained page a person opens offline to see what a run did.

Rendered once, at the end, from summary.json's data (`writer.summary_dict`, already scrubbed)
and the `PageFacts` gathered per row. The page holds the counts, the failed rows grouped by
code and by incoming mail server with each group's hint and first rows, the warnings by
code, and charts as inline SVG (`report/svg.py`): outcomes, then rows sent and the portal's
answer time over the run. Its size is bounded whatever the row count: `SAMPLES` rows per
code, `MAX_HOSTS` servers, `MAX_BINS` points per chart.

Nothing is loaded: no script, no link, no image, no URL; a Content-Security-Policy meta
allows only the page's own style sheet (by its hash). Every text from a sheet, a portal or a
mail server goes through `printable` (control characters shown as escapes) and
`html.escape`, so a cell `</svg><script>` is text on the page.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any, Final, TypeVar

from bulkmail.codes import Code
from bulkmail.models import Severity, Status
from bulkmail.printable import printable
from bulkmail.report import svg
from bulkmail.report.html_facts import (
    HOST_GROUPS,
    NAME_LIMIT,
    SAMPLES,
    TEXT_LIMIT,
    CodeGroup,
    HostGroup,
    PageFacts,
)

MAX_HOSTS: Final = 30
"""Mail servers listed; the rest are counted in one line."""

COLOURS: Final = {
    Status.VALID: "#2e7d32",
    Status.CREATED: "#2e7d32",
    Status.UPDATED: "#00897b",
    Status.SKIPPED: "#9e9e9e",
    Status.WOULD_CREATE: "#66bb6a",
    Status.WOULD_UPDATE: "#4db6ac",
    Status.FAILED: "#c62828",
    Status.NOT_ATTEMPTED: "#ef6c00",
    Status.CHECKED: "#2e7d32",
    Status.NOT_CHECKED: "#9e9e9e",
}
_DONE, _FAILED, _MEAN, _MAX = "#2e7d32", "#c62828", "#1565c0", "#90caf9"

STYLE: Final = """
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
h3{font-size:1em;margin:1.4em 0 .3em}code{background:#f3f3f3;padding:0 .25em;white-space:nowrap}
table{border-collapse:collapse;margin:.4em 0;width:100%}
th,td{text-align:left;padding:.2em .5em;border-bottom:1px solid #eee;vertical-align:top;
overflow-wrap:anywhere}
td.n,th.n{text-align:right;white-space:nowrap}
.hint{color:#555}.meaning{margin:.2em 0}.more{color:#555;font-style:italic}
.chart{width:100%;height:auto;font:12px system-ui,sans-serif}
.chart text{fill:#333}.axis{stroke:#555}.grid{stroke:#e5e5e5}.line{stroke-width:2}
.key span{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 1em;vertical-align:-.1em}
.kdone{background:#2e7d32}.kfailed{background:#c62828}.kmean{background:#1565c0}
.kmax{background:#90caf9}
"""
_STYLE_HASH: Final = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
POLICY: Final = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src 'none'; "
    "base-uri 'none'; form-action 'none'"
)


def text(value: object, limit: int | None = TEXT_LIMIT) -> str:
    """Return any value as HTML text: control characters escaped visibly, markup inert."""
    return escape(printable(str(value), limit), quote=True)


def render(data: Mapping[str, Any], facts: PageFacts) -> str:
    """Return report.html for one run: `data` is summary.json's (`summary_dict`)."""
    command = str(data.get("command", ""))
    dry = bool(data.get("dry_run"))
    if dry:
        command += " --dry-run"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>bulkmail {text(command)} report</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>bulkmail {text(command)} report</h1>",
        _about(data),
        *_counts(data),
        *_by_code(facts, command),
        *_by_host(facts),
        *_warnings(data),
        *_over_time(facts, dry),
        "<p class=more>Every row is in succeeded.csv, failed.csv and report.xlsx beside "
        "this page.</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _about(data: Mapping[str, Any]) -> str:
    """Return the run's facts: input, times, exit code, portal."""
    source = data.get("input") or {}
    facts = [
        ("input", source.get("path", "") if isinstance(source, Mapping) else ""),
        ("sheet", source.get("sheet") if isinstance(source, Mapping) else None),
        ("portal", data.get("portal")),
        ("started", data.get("started_at")),
        ("finished", data.get("finished_at")),
        ("seconds", data.get("seconds")),
        ("dry run", "yes: nothing was created or changed" if data.get("dry_run") else None),
        ("exit code", data.get("exit_code")),
        ("stopped because", data.get("abort_reason")),
    ]
    rows = "".join(
        f"<tr><th>{text(k)}</th><td>{text(v)}</td></tr>" for k, v in facts if v not in (None, "")
    )
    return f"<table class=about>{rows}</table>"


def _counts(data: Mapping[str, Any]) -> list[str]:
    """Return the rows per outcome, as a table and as bars."""
    counts: Mapping[str, int] = data.get("counts") or {}
    shown = [(Status(s), n) for s, n in counts.items() if n and s in Status._value2member_map_]
    rows = "".join(f"<tr><td>{text(s)}</td><td class=n>{n:,}</td></tr>" for s, n in shown)
    total = int(data.get("total", 0))
    chart = svg.bars("Rows by outcome", [(str(s), n, COLOURS[s]) for s, n in shown])
    return [
        "<h2>Outcomes</h2>",
        f"<table class=counts><tr><th>outcome</th><th class=n>rows</th></tr>{rows}"
        f"<tr><th>total</th><th class=n>{total:,}</th></tr></table>",
        chart if shown else "",
    ]


def _registered(code: str) -> Code | None:
    member = Code._value2member_map_.get(code)
    return member if isinstance(member, Code) else None


def _hint(code: str, group: CodeGroup | None) -> str:
    """Return the fix of a code's rows, as the console says it (`report.preview`): the hint
    every row carries (a check's, of this machine, not of the portal), else the registry's."""
    if group is not None and group.hint and not group.hints_differ:
        return group.hint
    member = _registered(code)
    return (member.hint if member is not None else "") or (group.hint if group else "")


def _by_code(facts: PageFacts, command: str) -> list[str]:
    """Return the failed rows grouped by code, most rows first, each with its first rows."""
    if not facts.codes:
        return ["<h2>Failures by code</h2>", "<p>No row failed.</p>"]
    parts = [
        "<h2>Failures by code</h2>",
        f"<p>{_failures(facts.failed_rows, command)}; a row refused for several "
        "reasons is counted under each.</p>",
    ]
    for code, group in _largest(facts.codes):
        parts += _code_group(code, group, command)
    return parts


def _failures(count: int, command: str) -> str:
    """Return "12 rows failed or were not sent" in the words of what `command` does."""
    one = count == 1
    failed = f"{_rows(count)} failed"
    if command == "validate":  # its rows are judged, never sent
        return failed
    verb = "checked" if command == "check" else "sent"
    return f"{failed} or {'was' if one else 'were'} not {verb}"


def _code_group(code: str, group: CodeGroup, command: str) -> list[str]:
    member = _registered(code)
    # The registry's meanings speak of the portal's test; a check is this machine's own.
    meaning = (
        f"<p class=meaning>{text(member.meaning)}</p>"
        if member is not None and command != "check"
        else ""
    )
    hint = _hint(code, group)
    rows = "".join(
        f"<tr><td class=n>{s.row}</td><td>{text(s.email)}</td><td>{text(s.host)}</td>"
        f"<td>{text(s.message)}</td></tr>"
        for s in group.samples
    )
    more = group.count - len(group.samples)
    return [
        f"<h3><code>{text(code)}</code>: {_rows(group.count)}</h3>",
        meaning,
        f"<p class=hint>Fix: {text(hint)}</p>" if hint else "",
        "<table><tr><th class=n>row</th><th>address</th><th>incoming server</th>"
        f"<th>message</th></tr>{rows}</table>",
        f"<p class=more>and {more:,} more in failed.csv</p>" if more > 0 else "",
    ]


def _by_host(facts: PageFacts) -> list[str]:
    """Return the failed rows per incoming mail server, with the codes and the top code's hint."""
    if not facts.hosts:
        return []
    ranked = _largest(facts.hosts)
    rows = []
    for host, group in ranked[:MAX_HOSTS]:
        codes = sorted(group.codes.items(), key=lambda item: (-item[1], item[0]))
        top = codes[0][0]
        listed = ", ".join(f"{text(c)} ({n:,})" for c, n in codes[:3])
        if len(codes) > 3:
            listed += f" and {_many(len(codes) - 3, 'more code')}"
        rows.append(
            f"<tr><td>{text(host or '(blank in the sheet)', NAME_LIMIT)}</td>"
            f"<td class=n>{group.count:,}</td>"
            f"<td>{listed}</td><td class=hint>{text(_hint(top, facts.codes.get(top)))}</td></tr>"
        )
    rest = ranked[MAX_HOSTS:]
    said = []
    if rest:
        said.append(
            f"{_many(len(rest), 'more server')} with {_rows(sum(g.count for _, g in rest))} failed"
        )
    if facts.unlisted_rows:
        said.append(
            f"{_rows(facts.unlisted_rows)} failed on servers past the first {HOST_GROUPS:,} "
            "seen, not counted one by one"
        )
    more = f"<p class=more>and {', and '.join(said)}</p>" if said else ""
    return [
        "<h2>Failures by mail server</h2>",
        "<table><tr><th>incoming server</th><th class=n>rows</th><th>codes</th>"
        f"<th>hint (most frequent code)</th></tr>{''.join(rows)}</table>",
        more,
    ]


_Group = TypeVar("_Group", CodeGroup, HostGroup)


def _largest(groups: Mapping[str, _Group]) -> list[tuple[str, _Group]]:
    return sorted(groups.items(), key=lambda item: (-item[1].count, item[0]))


def _warnings(data: Mapping[str, Any]) -> list[str]:
    """Return the warnings by code (from summary.json's problem counts), with their hints."""
    problems: Mapping[str, int] = data.get("problems") or {}
    found = [
        (code, n, member)
        for code, n in problems.items()
        if (member := _registered(code)) is not None and member.severity is Severity.WARNING
    ]
    if not found:
        return []
    rows = "".join(
        f"<tr><td><code>{text(code)}</code></td><td class=n>{n:,}</td>"
        f"<td>{text(member.meaning)}</td><td class=hint>{text(member.hint)}</td></tr>"
        for code, n, member in found
    )
    return [
        "<h2>Warnings</h2>",
        "<p>Rows with a warning were still sent; each row's warnings are in its report notes.</p>",
        "<table><tr><th>code</th><th class=n>times</th><th>meaning</th><th>hint</th></tr>"
        f"{rows}</table>",
    ]


def _over_time(facts: PageFacts, dry: bool) -> list[str]:
    """Return the charts over the run: rows sent per bin (`dry`: looked up, as a dry run
    sends no create), and the portal's answer time."""
    timeline = facts.timeline
    if not timeline.bins:
        return []
    width = timeline.width
    every = svg.duration(width)
    what = "Rows looked up on the portal" if dry else "Rows sent"
    parts = [
        "<h2>Over the run</h2>",
        f"<h3>{what}, per {text(every)}</h3>",
        _key([("done", "kdone"), ("failed", "kfailed")]),
        svg.columns(f"{what} over time", width, [b[:2] for b in timeline.bins], [_DONE, _FAILED]),
    ]
    if any(b[3] for b in timeline.bins):
        mean = [b[2] / b[3] if b[3] else None for b in timeline.bins]
        peak = [b[4] if b[3] else None for b in timeline.bins]
        parts += [
            f"<h3>Portal answer time to a create, per {text(every)}</h3>",
            _key([("mean", "kmean"), ("slowest", "kmax")]),
            svg.lines("Portal answer time over time", width, [(peak, _MAX), (mean, _MEAN)], " s"),
        ]
    return parts


def _rows(count: int) -> str:
    return _many(count, "row")


def _many(count: int, noun: str) -> str:
    """`1 more code`, `2 more codes`: the count and its noun, plural unless one."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def _key(items: Iterable[tuple[str, str]]) -> str:
    return "<p class=key>" + "".join(f"<span class={c}></span>{text(t)}" for t, c in items) + "</p>"


__all__ = ["MAX_HOSTS", "POLICY", "SAMPLES", "render", "text"]
