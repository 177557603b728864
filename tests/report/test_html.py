"""report.html: escaping, grouping, bounded size, nothing loaded from outside, the timeline."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from itertools import count
from pathlib import Path

import pytest

from bulkmail.codes import Code
from bulkmail.models import InputInfo, Outcome, Problem, Row, Severity, Stage, Status, Summary
from bulkmail.report import svg
from bulkmail.report.html import MAX_HOSTS, render
from bulkmail.report.html_facts import HOST_GROUPS, MAX_BINS, SAMPLES, PageFacts, Timeline
from bulkmail.report.writer import ReportWriteError, ReportWriter, summary_dict
from bulkmail.secrets import MASK

HEADERS = ("email", "password", "server", "note")
FIELDS = ("email", "password", "server", None)
HOSTILE = (
    "<script>alert(1)</script>",
    "</svg><script>alert(2)</script>",
    '"><img src=x onerror=alert(3)>',
    "</textarea></style><a href='https://evil.example'>x</a>",
)
# Tags the page is made of: anything else came from a cell.
OUR_TAGS = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "table", "tr",
    "th", "td", "code", "span", "svg", "rect", "text", "line", "path", "circle",
}  # fmt: skip


class Page(HTMLParser):
    """The page as a browser's parser sees it: its tags with attributes, and its text."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[str] = []
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)


def _failed(number: int, code: str, host: str, message: str = "refused") -> Outcome:
    return Outcome(
        Row(number, (f"box{number}@x.org", "Secret-pw-1", host, "")),
        Status.FAILED,
        stage=Stage.PORTAL,
        code=code,
        message=message,
        hint="row hint",
        attempts=1,
        elapsed=0.5,
        latency=0.25,
    )


def _page(tmp_path: Path, outcomes: list[Outcome], command: str = "import") -> str:
    with ReportWriter(tmp_path, HEADERS, FIELDS) as writer:
        for outcome in outcomes:
            writer.add(outcome)
        summary = Summary(
            command,
            len(outcomes),
            dict(writer.counts),
            1,
            InputInfo(path="in.csv", format="csv"),
            "2026-11-23T19:30:05",
            "2026-11-23T19:30:09",
            4.5,
            problems=dict(writer.problem_counts),
        )
        paths = writer.finish(summary)
    assert paths.html == tmp_path / "report.html"
    return paths.html.read_text(encoding="utf-8")


def test_hostile_cells_and_messages_are_text_on_the_page(tmp_path: Path) -> None:
    outcomes = [
        Outcome(
            Row(2 + i, (bad, "pw-Secret-9", bad + "\x1b[31m\u202e", bad)),
            Status.FAILED,
            stage=Stage.PORTAL,
            code="mailbox-login-refused",
            message=f"{bad} said \x1b[2J\x00\ud800\u2028 with pw-Secret-9",
            hint=bad,
        )
        for i, bad in enumerate(HOSTILE)
    ]
    source = _page(tmp_path, outcomes)
    page = Page(source)
    assert {tag for tag, _ in page.tags} <= OUR_TAGS
    assert not [a for _, attrs in page.tags for a in attrs if a.startswith("on")]
    for bad in HOSTILE:
        assert bad in page.text  # shown as the text it is
    assert "\\x1b[31m\\u202e" in page.text and "\\x1b[2J\\x00\\ud800\\u2028" in page.text
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u202e]", source)
    assert "pw-Secret-9" not in source and MASK in page.text


def test_nothing_is_loaded_from_outside_the_file(tmp_path: Path) -> None:
    outcomes = [_failed(2, "mailbox-timeout", "https://evil.example/x.js")]
    source = _page(tmp_path, outcomes)
    page = Page(source)
    linking = {"src", "href", "xlink:href", "action", "srcset", "data", "poster", "background"}
    assert [(t, a) for t, attrs in page.tags for a in attrs if a in linking] == []
    assert not [t for t, _ in page.tags if t in {"script", "link", "img", "iframe", "object"}]
    for tag, attrs in page.tags:  # no URL in any attribute, the CSP's own words aside
        for value in attrs.values():
            assert "//" not in (value or "") or tag == "meta", (tag, attrs)
    [policy] = [
        a["content"] for t, a in page.tags if a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert policy is not None and "default-src 'none'" in policy
    [style] = re.findall(r"<style>(.*?)</style>", source, re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy  # the one style sheet allowed, by its hash
    assert "url(" not in style and "@import" not in style


def test_failures_are_grouped_by_code_and_by_incoming_server(tmp_path: Path) -> None:
    outcomes = [_failed(n, "mailbox-login-refused", "IMAP.a.org") for n in range(2, 10)]
    outcomes += [_failed(n, "mailbox-timeout", "imap.b.org") for n in range(10, 13)]
    outcomes.append(_failed(13, "mailbox-timeout", "imap.a.org "))
    outcomes.append(
        Outcome(
            Row(14, ("bad", "pw", "", "")),
            Status.FAILED,
            stage=Stage.VALIDATION,
            problems=(
                Problem(14, "email", "email-invalid", Severity.ERROR, "no @", "write one"),
                Problem(14, "port", "port-defaulted", Severity.INFO, "defaulted"),
            ),
        )
    )
    outcomes.append(Outcome(Row(15, ("ok@x.org", "pw", "imap.a.org", "")), Status.CREATED))
    page = Page(_page(tmp_path, outcomes))
    text = page.text
    assert "mailbox-login-refused: 8 rows" in text
    assert "mailbox-timeout: 4 rows" in text and "email-invalid: 1 row" in text
    assert "and 3 more in failed.csv" in text  # 8 rows, SAMPLES shown
    assert SAMPLES == 5
    assert "port-defaulted" not in text  # a note is not a failure
    assert re.search(r"imap\.a\.org9mailbox-login-refused \(8\), mailbox-timeout \(1\)", text)
    assert re.search(r"imap\.b\.org3mailbox-timeout \(3\)", text)
    assert "(blank in the sheet)1email-invalid (1)" in text
    # each group's hint: the one its rows carry, as on the console
    assert "Fix: write one" in text and "Fix: row hint" in text
    assert re.search(r"created\s*1", text) and re.search(r"failed\s*13", text)


def test_a_validate_page_has_counts_and_no_timeline(tmp_path: Path) -> None:
    outcomes = [
        Outcome(Row(n, (f"b{n}@x.org", "pw", "imap.x.org", "")), Status.VALID) for n in range(2, 6)
    ]
    text = Page(_page(tmp_path, outcomes, "validate")).text
    assert "bulkmail validate report" in text and "No row failed." in text
    assert re.search(r"valid\s*4", text) and "Over the run" not in text


def test_the_page_stays_small_for_100_000_rows(tmp_path: Path) -> None:
    codes = ("mailbox-login-refused", "mailbox-timeout", "smtp-login-refused", "not-attempted")
    clock = count(0.0, 0.37)  # 100,000 rows over ten hours
    facts = PageFacts(2, 0, lambda cells: [cells[1]], clock=lambda: next(clock))
    for n in range(100_000):
        outcome = (
            _failed(n + 2, codes[n // 2 % 4], f"imap{n}.{'x' * 240}.org", "m" * 5000)
            if n % 2
            else Outcome(
                Row(n + 2, ("a@x.org", "pw", "imap.x.org", "")),
                Status.CREATED,
                elapsed=0.1,
                latency=0.05,
            )
        )
        facts.add(outcome, outcome.status.succeeded)
    data = summary_dict(
        Summary(
            "import",
            100_000,
            {"created": 50_000, "failed": 50_000},
            1,
            InputInfo("in.csv", "csv"),
            "",
            "",
            1.0,
        )
    )
    source = render(data, facts)
    assert len(source.encode()) < 150_000
    assert len(facts.timeline.bins) <= MAX_BINS
    assert sum(b[0] + b[1] for b in facts.timeline.bins) == 100_000
    text = Page(source).text
    assert "mailbox-login-refused: 12,500 rows" in text
    kept = HOST_GROUPS - MAX_HOSTS
    assert f"and {kept:,} more servers with {kept:,} rows failed" in text
    assert f"and {50_000 - HOST_GROUPS:,} rows failed on servers past the first" in text
    assert len(re.findall("<circle", source)) <= 2 * MAX_BINS


def test_thousands_of_distinct_servers_keep_memory_bounded_and_the_counts_true() -> None:
    # A sheet whose every failed row names its own server (a column of garbage, a sheet of
    # per-user hosts): the page's facts keep HOST_GROUPS servers, not one per row, and a
    # server already kept still counts its later rows.
    facts = PageFacts(2, 0, lambda cells: [cells[1]])
    for n in range(3 * HOST_GROUPS):
        facts.add(_failed(n + 2, "mailbox-timeout", f"imap{n}.x.org"), False)
    for n in range(5):
        facts.add(_failed(n + 10_000, "mailbox-timeout", "IMAP0.x.org"), False)
    assert len(facts.hosts) == HOST_GROUPS
    assert facts.hosts["imap0.x.org"].count == 6
    assert facts.unlisted_rows == 2 * HOST_GROUPS
    assert sum(g.count for g in facts.hosts.values()) + facts.unlisted_rows == facts.failed_rows
    data = summary_dict(
        Summary("import", facts.failed_rows, {"failed": facts.failed_rows}, 1,
                InputInfo("in.csv", "csv"), "", "", 1.0)
    )  # fmt: skip
    text = " ".join(" ".join(Page(render(data, facts)).texts).split())
    assert "imap0.x.org 6 mailbox-timeout (6)" in text
    rest = HOST_GROUPS - MAX_HOSTS
    assert f"and {rest:,} more servers with {rest:,} rows failed," in text
    assert (
        f"and {2 * HOST_GROUPS:,} rows failed on servers past the first {HOST_GROUPS:,} seen"
        in text
    )


def test_the_timeline_keeps_its_totals_as_its_bins_widen() -> None:
    times = iter([0.0, 0.05, 0.25, 11.9, 12.05, 100.0, 100.0])
    timeline = Timeline(lambda: next(times))
    latencies = [0.1, 0.3, 0.0, 0.2, 0.4, 0.5, 0.7]
    for i, latency in enumerate(latencies):
        status = Status.FAILED if i == 3 else Status.CREATED
        timeline.add(Outcome(Row(i + 2, ()), status, elapsed=1.0, latency=latency))
    assert timeline.width == 1.6  # 0.1 doubled until 100 s fits in MAX_BINS bins
    assert len(timeline.bins) == int(100 / 1.6) + 1 <= MAX_BINS
    assert timeline.bins[0] == [3, 0, 0.4, 2, 0.3]
    assert timeline.bins[7] == [1, 1, pytest.approx(0.6), 2, 0.4]  # 11.9 s and 12.05 s
    assert timeline.bins[-1] == [2, 0, pytest.approx(1.2), 2, 0.7]
    assert sum(b[0] + b[1] for b in timeline.bins) == 7


def test_an_import_page_charts_rows_sent_and_the_portal_s_answer_time(tmp_path: Path) -> None:
    outcomes = [_failed(2, "mailbox-timeout", "imap.x.org")]
    outcomes += [
        Outcome(
            Row(n, (f"b{n}@x.org", "pw", "imap.x.org", "")),
            Status.CREATED,
            elapsed=0.2,
            latency=0.1,
        )
        for n in range(3, 8)
    ]
    page = Page(_page(tmp_path, outcomes))
    titles = [t for t in page.texts if t.startswith(("Rows by", "Rows sent", "Portal answer"))]
    assert titles == [
        "Rows by outcome",
        "Rows sent, per 0.1 s",
        "Rows sent over time",
        "Portal answer time to a create, per 0.1 s",
        "Portal answer time over time",
    ]
    assert sum(1 for t, _ in page.tags if t == "circle") == 2  # mean and slowest, one bin


@pytest.mark.parametrize(
    ("value", "top"),
    [(0, 1), (0.3, 0.5), (1, 1), (7, 10), (12, 20), (120, 200), (4999, 5000), (0.012, 0.02)],
)
def test_axis_tops_are_round(value: float, top: float) -> None:
    assert svg.nice_top(value) == pytest.approx(top)


@pytest.mark.parametrize(("seconds", "shown"), [(0, "0:00"), (65, "1:05"), (7389, "2:03:09")])
def test_clock(seconds: float, shown: str) -> None:
    assert svg.clock(seconds) == shown


def test_a_page_that_cannot_be_written_fails_the_run_and_summary_json_says_so(
    tmp_path: Path,
) -> None:
    (tmp_path / "report.html" / "in-the-way").mkdir(parents=True)  # rename onto it fails
    with pytest.raises(ReportWriteError, match=r"report\.html"):
        _page(tmp_path, [_failed(2, "mailbox-timeout", "imap.x.org")])
    data = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert data["exit_code"] == 3 and "report.html" in data["report_error"]
    assert data["error"] == data["report_error"]  # as every stopped run's summary.json says


def _labels(chart: str) -> tuple[list[str], list[str]]:
    """Return a chart's y axis labels (anchored at the end, left of the plot) and x labels."""
    found = re.findall(r'<text x="([\d.]+)" y="([\d.]+)" text-anchor="\w+">([^<]*)</text>', chart)
    bottom = str(svg.HEIGHT - 8)
    xs = [label for _, y, label in found if y == bottom]
    ys = [label for x, y, label in found if y != bottom and float(x) < 64]
    return ys, xs


@pytest.mark.parametrize(("most", "ticks"), [(1, ["0", "1"]), (2, ["0", "1", "2"]),
    (5, ["0", "1", "2", "3", "4", "5"]), (7, ["0", "2", "4", "6", "8", "10"]),
    (450, ["0", "125", "250", "375", "500"])])  # fmt: skip
def test_a_count_axis_shows_whole_rows(most: int, ticks: list[str]) -> None:
    ys, _ = _labels(svg.columns("rows", 0.1, [[most, 0]], ["#000", "#111"]))
    assert ys == ticks


@pytest.mark.parametrize(("width", "bins", "ticks"), [
    (0.1, 21, ["0 s", "0.5 s", "1 s", "1.5 s", "2 s"]),  # a 2-second run
    (0.8, 113, ["0:00", "0:30", "1:00", "1:30"]),
    (409.6, 88, ["0:00", "3:00:00", "6:00:00", "9:00:00"]),  # a 10-hour run
])  # fmt: skip
def test_a_time_axis_is_marked_at_round_times(width: float, bins: int, ticks: list[str]) -> None:
    stacks = [[1, 0]] * bins
    _, xs = _labels(svg.columns("rows", width, stacks, ["#000", "#111"]))
    assert xs == ticks
    _, xs = _labels(svg.lines("latency", width, [([0.5] * bins, "#000")], " s"))
    assert xs == ticks


@pytest.mark.parametrize(("seconds", "shown"), [(0.1, "0.1 s"), (51.2, "51.2 s"),
    (102.4, "1 min 42 s"), (409.6, "6 min 50 s"), (3600, "1 h"),
    (6553.6, "1 h 49 min 14 s")])  # fmt: skip
def test_a_chart_s_bin_width_reads_as_a_duration(seconds: float, shown: str) -> None:
    assert svg.duration(seconds) == shown


def test_a_code_s_fix_is_the_one_its_rows_carry_as_on_the_console(tmp_path: Path) -> None:
    # `bulkmail check` tests from this machine: its rows carry their own hint, and the
    # registry's words of the portal's test ("the portal's server can reach it") would
    # send the admin to the wrong network.
    here = "check server and port, and the DNS and firewall between this machine and the server"
    outcomes = [
        Outcome(
            Row(n, (f"c{n}@x.org", "pw", "imap.x.org", "")),
            Status.FAILED,
            stage=Stage.CHECK,
            code="mailbox-unreachable",
            message="IMAP imap.x.org:993 (SSL): connection refused",
            hint=here,
            elapsed=0.1,
        )
        for n in range(2, 9)  # more rows than SAMPLES: every row's hint is compared
    ]
    text = " ".join(" ".join(Page(_page(tmp_path, outcomes, "check")).texts).split())
    assert f"Fix: {here}" in text
    assert f"imap.x.org 7 mailbox-unreachable (7) {here}" in text  # the servers' table too
    assert "portal" not in text.replace("Portal answer", "")


def test_a_code_whose_rows_carry_different_hints_shows_the_registry_s(tmp_path: Path) -> None:
    outcomes = [_failed(2, "mailbox-timeout", "imap.x.org")]
    outcomes += [
        Outcome(
            Row(n, (f"b{n}@x.org", "pw", "imap.x.org", "")),
            Status.FAILED,
            stage=Stage.PORTAL,
            code="mailbox-timeout",
            hint=f"hint of row {n}",
        )
        for n in range(3, 3 + SAMPLES + 2)
    ]
    text = " ".join(" ".join(Page(_page(tmp_path, outcomes)).texts).split())
    assert f"Fix: {Code.MAILBOX_TIMEOUT.hint}" in text and "hint of row" not in text


def test_a_dry_run_page_says_nothing_was_sent(tmp_path: Path) -> None:
    # A dry run's page must not read as an import's: its rows were looked up, not created.
    outcomes = [
        Outcome(
            Row(n, (f"b{n}@x.org", "pw", "imap.x.org", "")),
            Status.WOULD_CREATE,
            elapsed=0.1,
        )
        for n in range(2, 5)
    ]
    with ReportWriter(tmp_path, HEADERS, FIELDS) as writer:
        for outcome in outcomes:
            writer.add(outcome)
        summary = Summary("import", 3, dict(writer.counts), 0, InputInfo("in.csv", "csv"),
                          "", "", 1.0, extra={"dry_run": True})  # fmt: skip
        paths = writer.finish(summary)
    assert paths.html is not None
    page = Page(paths.html.read_text(encoding="utf-8"))
    text = " ".join(" ".join(page.texts).split())
    assert "bulkmail import --dry-run report" in text
    assert "dry run yes: nothing was created or changed" in text
    assert "Rows sent" not in text and "Rows looked up on the portal, per 0.1 s" in text


def test_an_import_page_does_not_say_dry_run(tmp_path: Path) -> None:
    text = " ".join(" ".join(Page(_page(tmp_path, [_failed(2, "x", "h")])).texts).split())
    assert "dry" not in text and "Rows sent, per" in text


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("import", "1 row failed or was not sent;"),
        ("check", "1 row failed or was not checked;"),
        ("validate", "1 row failed;"),
    ],
)
def test_the_failures_line_speaks_of_what_the_command_does(
    tmp_path: Path, command: str, said: str
) -> None:
    text = " ".join(" ".join(Page(_page(tmp_path, [_failed(2, "x", "h")], command)).texts).split())
    assert said in text


@pytest.mark.parametrize(("codes", "said"), [(4, "and 1 more code"), (5, "and 2 more codes")])
def test_a_server_s_codes_past_three_are_counted_in_words_that_agree(
    tmp_path: Path, codes: int, said: str
) -> None:
    names = ["mailbox-login-refused", "mailbox-timeout", "smtp-login-refused",
             "smtp-timeout", "mailbox-unreachable"][:codes]  # fmt: skip
    page = Page(_page(tmp_path, [_failed(n + 2, c, "imap.a.org") for n, c in enumerate(names)]))
    text = " ".join(page.text.split())
    assert re.search(re.escape(said) + r"(?!s)", text)
