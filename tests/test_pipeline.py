"""The pipeline's own guarantees, apart from the stages it wires."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkmail import ConfigError, InputSettings, PortalSettings, import_file
from bulkmail.journal.store import Journal


def test_a_report_folder_that_cannot_be_made_leaves_the_journal_unlocked(tmp_path: Path) -> None:
    sheet = tmp_path / "in.csv"
    sheet.write_text("email,password,server,smtp_server\na@b.org,pw-1234,imap.b.org,smtp.b.org\n")
    blocker = tmp_path / "reports"
    blocker.write_text("a file where the report folder should go")
    state = tmp_path / "journal.sqlite"
    portal = PortalSettings(
        url="http://127.0.0.1:9", user="me@b.org", password="pw", state=state, give_up_after=0.1
    )  # nothing listens: no 10 s of retries first
    with pytest.raises(ConfigError, match="cannot create a report folder"):
        import_file(InputSettings(path=sheet), portal, blocker)
    with Journal.open(state, portal.url):  # a lock still held would raise LockedError
        pass
