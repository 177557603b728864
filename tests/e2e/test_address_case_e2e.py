"""An address is one mailbox when the portal lowers it to one key, from the CLI against the
simulator: the portal lowers one character at a time (.NET), not as Python's lower() or
casefold() do (docs/portal-api.md §12, bulkmail.portal.lowering).

A run that looked accounts up by another key than the portal's missed those it had: with
`--if-exists skip` it overwrote them and reported them created (exit 0); and validation let
two rows of one mailbox through, the second silently overwriting the first.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from test_import_e2e import account, report, run_import, stats, write_sheet

from bulkmail.cli import main
from bulkmail.simulator import SimConfig, running

pytestmark = pytest.mark.slow

# As typed in the sheet; the portal keeps "straße@", "οδοσ@", "info@" and "josé@".
ADDRESSES = (
    "Straße@mail.example.org",
    "ΟΔΟΣ@mail.example.org",
    "İNFO@mail.example.org",
    "Jos\u00e9@mail.example.org",  # é composed (NFC)
)
# The last one decomposed (e and U+0301), as a sheet written on macOS may hold it: another
# address to the portal, which would keep both; the same mailbox to the person.
DECOMPOSED = "jose\u0301@mail.example.org"


def rows(*emails: str) -> list[dict[str, str]]:
    return [account(1, n, email=email) for n, email in enumerate(emails)]


def test_a_skip_run_skips_what_the_portal_has_under_its_own_lowering(tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "in.csv", rows(*ADDRESSES))
    with running(SimConfig(latency_ms=5)) as url:
        skip_run(tmp_path, sheet, url)


def skip_run(tmp_path: Path, sheet: Path, sim: str) -> None:
    assert run_import(tmp_path, sheet, sim) == 0
    assert (stats(sim)["creates"], stats(sim)["overwrites"]) == (4, 0)

    # The same mailboxes again, the journal set aside: only the portal's list can tell.
    again = write_sheet(tmp_path / "again.csv", rows(*ADDRESSES[:-1], DECOMPOSED))
    assert run_import(tmp_path, again, sim, "--fresh") == 0
    _, succeeded, failed = report(tmp_path / "reports")
    assert failed == []
    assert [(r["email"], r["outcome"]) for r in succeeded] == [
        (email, "skipped") for email in (*ADDRESSES[:-1], DECOMPOSED)
    ]
    assert all("exists:" in r["notes"] for r in succeeded)
    assert (stats(sim)["creates"], stats(sim)["overwrites"]) == (4, 0)


def test_two_rows_the_portal_lowers_to_one_mailbox_are_a_duplicate(tmp_path: Path) -> None:
    again = ("οδοσ@mail.example.org", "info@mail.example.org", "strasse@mail.example.org")
    emails = (*ADDRESSES, *again, DECOMPOSED)
    sheet = write_sheet(tmp_path / "in.csv", rows(*emails))
    code = main(["validate", str(sheet), "--report-dir", str(tmp_path / "reports"), "--quiet"])
    assert code == 1
    _, succeeded, failed = report(tmp_path / "reports")
    assert [(r["row"], r["code"]) for r in failed] == [
        ("6", "duplicate-account"),  # οδοσ@ is row 3's ΟΔΟΣ@
        ("7", "duplicate-account"),  # info@ is row 4's İNFO@
        ("9", "duplicate-account"),  # josé@ decomposed is row 5's, composed
    ]
    assert [m["message"].split(" is the same mailbox as ")[1][:5] for m in failed] == [
        "row 3",
        "row 4",
        "row 5",
    ]
    # "strasse@" is not "straße@" to the portal: its own mailbox
    assert [r["row"] for r in succeeded] == ["2", "3", "4", "5", "8"]


def test_an_update_typed_another_way_overwrites_the_account_the_portal_has(
    tmp_path: Path,
) -> None:
    # The portal keeps "josé@" and "info@"; the second sheet types them decomposed (as macOS
    # may write it: e + U+0301, I + U+0307), which the portal lowers to other addresses. An
    # update sent as typed added two look-alike accounts and reported them updated.
    first = write_sheet(tmp_path / "in.csv", rows("Jos\u00e9@mail.example.org", "İNFO@x.org"))
    again = ("JOSE\u0301@mail.example.org", "I\u0307NFO@x.org")
    second = write_sheet(tmp_path / "again.csv", rows(*again))
    with running(SimConfig(latency_ms=5)) as url:
        assert run_import(tmp_path, first, url) == 0
        _, created, _ = report(tmp_path / "reports")
        assert run_import(tmp_path, second, url, "--fresh", "--if-exists", "update") == 0
        counters = stats(url)
        listed = httpx.get(f"{url}/_sim/mailboxes").json()
    _, updated, failed = report(tmp_path / "reports")
    assert failed == []
    assert [(r["email"], r["outcome"]) for r in updated] == [(e, "updated") for e in again]
    assert [r["mailbox_id"] for r in updated] == [r["mailbox_id"] for r in created]
    assert (counters["creates"], counters["overwrites"]) == (2, 2)
    assert sorted(m["email"] for m in listed) == ["info@x.org", "jos\u00e9@mail.example.org"]


def test_a_journal_written_before_the_portals_lowering_is_read_right(tmp_path: Path) -> None:
    # bulkmail before schema 3 keyed the journal by Python's str.lower(): "οδος@", "i" +
    # U+0307 + "nfo@", "jose" + U+0301 + "@". Read by the portal's key, those entries were
    # missed and the same command sent their rows again (--if-exists update: overwritten).
    emails = (*ADDRESSES[:3], DECOMPOSED, "plain@mail.example.org")
    sheet = write_sheet(tmp_path / "in.csv", rows(*emails))
    journal = tmp_path / "journal.sqlite"
    with running(SimConfig(latency_ms=5)) as url:
        assert run_import(tmp_path, sheet, url) == 0
        with sqlite3.connect(journal) as old:  # as the older bulkmail left it
            for email in emails:
                old.execute(
                    "UPDATE entries SET email = ? WHERE row = ?",
                    (email.lower(), emails.index(email) + 2),
                )
            old.execute("PRAGMA user_version = 2")
        assert run_import(tmp_path, sheet, url, "--if-exists", "update") == 0
        counters = stats(url)
    _, succeeded, failed = report(tmp_path / "reports")
    assert failed == []
    assert [(r["email"], r["outcome"]) for r in succeeded] == [(e, "skipped") for e in emails]
    assert all("done-earlier:" in r["notes"] for r in succeeded)
    assert (counters["creates"], counters["overwrites"]) == (5, 0)


def test_a_domain_in_punycode_is_the_mailbox_the_portal_has_in_unicode(tmp_path: Path) -> None:
    # The portal keeps both spellings apart: two accounts fetching one mailbox's mail.
    unicode, punycode = "Юлия@почта.рф", "юлия@xn--80a1acny.xn--p1ai"
    first = write_sheet(tmp_path / "in.csv", rows(unicode))
    again = write_sheet(tmp_path / "again.csv", rows(punycode))
    both = write_sheet(tmp_path / "both.csv", rows(unicode, punycode))
    reports = str(tmp_path / "checked")
    assert main(["validate", str(both), "--report-dir", reports, "--quiet"]) == 1
    _, _, failed = report(tmp_path / "checked")
    assert [(r["row"], r["code"]) for r in failed] == [("3", "duplicate-account")]
    with running(SimConfig(latency_ms=5)) as url:
        assert run_import(tmp_path, first, url) == 0
        assert run_import(tmp_path, again, url, "--fresh") == 0
        _, skipped, _ = report(tmp_path / "reports")
        assert run_import(tmp_path, again, url, "--fresh", "--if-exists", "update") == 0
        counters = stats(url)
        listed = httpx.get(f"{url}/_sim/mailboxes").json()
    _, updated, _ = report(tmp_path / "reports")
    assert [(r["email"], r["outcome"]) for r in skipped + updated] == [
        (punycode, "skipped"),
        (punycode, "updated"),
    ]
    assert (counters["creates"], counters["overwrites"]) == (1, 1)
    assert [m["email"] for m in listed] == ["юлия@почта.рф"]
