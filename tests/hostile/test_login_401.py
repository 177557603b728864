"""A login answered 401 `Unauthorized`, which a portal's own login never answers (it refuses a
password with a 500, docs/portal-api.md §4): a proxy in front of it asks for a login of its
own, or the address is not the portal. The line says so, not that a session ended."""

from __future__ import annotations

from pathlib import Path

import pytest
from answers_portal import CREATE, LOGIN, Portal, answer, serving

from bulkmail.cli import main

pytestmark = pytest.mark.slow

PROXY = answer(
    401, b"Unauthorized", Content_Type="text/html", WWW_Authenticate='Basic realm="corp"'
)


@pytest.mark.parametrize("owner", ["--user", "rows"])
def test_a_login_answered_401_names_a_proxy_not_an_ended_session(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    owner: str,
) -> None:
    monkeypatch.setenv("BULKMAIL_PASSWORD", "Portal-pw-1")
    sheet = tmp_path / "in.csv"
    if owner == "--user":
        sheet.write_text("email,password\nann@mail.example,pw-1\nbob@mail.example,pw-2\n")
        argv = ["--user", "it@corp.example"]
    else:
        sheet.write_text(
            "portal_user,portal_password,email,password\n"
            "it@corp.example,Portal-pw-1,ann@mail.example,pw-1\n"
            "it@corp.example,Portal-pw-1,bob@mail.example,pw-2\n"
        )
        argv = []
    portal = Portal({LOGIN: PROXY})
    with serving(portal) as url:
        code = main(
            ["import", str(sheet), "--portal", url, *argv, "--set", "server=imap.mail.example",
             "--set", "smtp_server=smtp.mail.example", "--report-dir", str(tmp_path / "r"),
             "--state", str(tmp_path / "j.sqlite")]
        )  # fmt: skip
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code == (3 if owner == "--user" else 1)
    assert portal.seen[LOGIN] == 1  # a refused login is never tried again
    assert CREATE not in portal.seen
    assert "portal-unauthorized" in out
    assert "proxy" in out  # the fix line names what answers 401 to a login
    assert "ended the session" not in out  # no session was ever had
    assert "session token" not in out + err  # a login sends none
