"""Simulator configuration: the built-in open portal, TOML files, one-line errors with lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkmail.cli import main
from bulkmail.errors import ConfigError
from bulkmail.settings import PortalSettings
from bulkmail.simulator import MailServer, PortalUser, SimConfig, load_config
from bulkmail.simulator.config import Impersonation

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "simulator.toml"


def test_no_file_is_the_open_portal() -> None:
    config = load_config(None)
    assert config == SimConfig()
    assert (config.users, config.open_portal, config.servers, config.open_servers) == (
        (),
        True,
        (),
        True,
    )


def test_the_sample_file_loads() -> None:
    config = load_config(SAMPLE)
    assert [(u.login, u.culture, u.tfa, u.mail_enabled) for u in config.users] == [
        ("anna.petrova@example.com", "en", "", True),
        ("ivan.sidorov@example.ru", "ru", "", True),
        ("boss@example.com", "en", "tfa", True),
        ("guest@example.com", "en", "", False),
    ]
    assert (config.open_portal, config.open_servers) == (False, True)
    assert config.servers[1] == MailServer(
        "pop.legacy.example.com",
        protocols=frozenset({"pop3", "smtp"}),
        tls=frozenset({"plain"}),
        smtp_auth=False,
        plain_ports=(110, 2525),
    )
    assert config.servers[0].accounts == {
        "anna.petrova@example.com": "Mailbox-Pass-1",
        "ivan.sidorov@example.ru": "Mailbox-Pass-2",
    }
    assert (config.latency_ms, config.fail_503, config.slow_seconds, config.seed) == (
        0.0,
        0.0,
        240.0,
        0,
    )


@pytest.mark.parametrize(
    "config",
    [SimConfig(), load_config(None), load_config(SAMPLE)],
    ids=["default", "no-file", "sample-file"],
)
def test_a_slow_answer_comes_after_the_import_gave_up(config: SimConfig) -> None:
    # --slow-after-create stands for an answer the client never sees: with both sides'
    # defaults, the client's timeout must end before the simulator answers.
    assert config.slow_seconds > PortalSettings(url="http://portal.test").timeout


def test_a_file_without_slow_seconds_takes_the_default(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text("[faults]\nlatency_ms = 5\n", encoding="utf-8")
    assert load_config(path).slow_seconds == SimConfig().slow_seconds


def test_a_file_with_users_only_keeps_the_mail_servers_open(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(
        '[portal]\nstate = "rehearsal.sqlite"\n\n[[users]]\nlogin = "a@b.c"\npassword = "pw"\n'
        "[faults]\nlatency_ms = 250\ncreate_latency_ms = 2000\nfail_503 = 0.5\nseed = 3\n",
        encoding="utf-8",
    )
    assert load_config(path) == SimConfig(
        users=(PortalUser("a@b.c", "pw"),),
        open_portal=False,
        latency_ms=250.0,
        create_latency_ms=2000.0,
        fail_503=0.5,
        seed=3,
        state_path=tmp_path / "rehearsal.sqlite",
        impersonation=Impersonation(),  # a configured portal: off, as shipped
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[faults\nseed = 1\n",
         "Expected ']' at the end of a table declaration (at line 1, column 8)"),
        ("[faults]\nlatency = 5\n", "line 2: unknown key faults.latency"),
        ("[faults]\nseed = 1\nfail_503 = 1.5\n",
         "line 3: faults.fail_503 must be a probability between 0 and 1, not 1.5"),
        ("[faults]\nlatency_ms = -1\n", "line 2: faults.latency_ms must not be negative, not -1"),
        ("[faults]\nlatency_ms = true\n", "line 2: faults.latency_ms must be a number, not True"),
        ("[faults]\ncreate_latency_ms = -1\n",
         "line 2: faults.create_latency_ms must not be negative, not -1"),
        ("[faults]\nseed = 1.5\n", "line 2: faults.seed must be a whole number, not 1.5"),
        ("[portal]\ntimezone = \"MSK\"\n",
         'line 2: portal.timezone must be a UTC offset like "+03:00" or "Z", not "MSK"'),
        ("[mail]\nopen = \"yes\"\n", "line 2: mail.open must be true or false, not 'yes'"),
        ("[[users]]\nlogin = \"a@b\"\npassword = \"x\"\n\n[[users]]\nlogin = \"b@b\"\n",
         "line 5: users[2] needs login and password"),
        ("[[users]]\nlogin = \"a@b\"\npassword = \"x\"\nculture = \"de\"\n",
         "line 4: users[1].culture must be one of ['en', 'ru'], not 'de'"),
        ('[[users]]\nlogin = "a@b"\npassword = "x"\n[[users]]\nlogin = "A@B"\npassword = "y"\n',
         "line 4: users[2] repeats 'a@b'"),
        ("[[servers]]\nhost = \"h\"\nprotocols = [\"imap\", \"jmap\"]\n",
         "line 3: servers[1].protocols takes some of ['imap', 'pop3', 'smtp'], not ['jmap']"),
        ("[[servers]]\nhost = \"h\"\nssl_ports = [993, 0]\n",
         "line 3: servers[1].ssl_ports must list ports 1..65535, not [993, 0]"),
        ("[[servers]]\nhost = \"h\"\nreject = { jmap = \"no\" }\n",
         "line 3: servers[1].reject must map imap / pop3 / smtp to text"),
        ("[[servers]]\nhost = \"h\"\nstatus = \"down\"\n",
         "line 3: servers[1].status must be one of "
         "['auth-timeout', 'refused', 'timeout', 'up'], not 'down'"),
        ("[[servers]]\nhost = \"h\"\nmax_logins = 0\n",
         "line 3: servers[1].max_logins must be 1 or more, not 0"),
        ("[[servers]]\nhost = \"h\"\nban_after = 2.5\n",
         "line 3: servers[1].ban_after must be a whole number, not 2.5"),
        ("[[servers]]\nhost = \"h\"\nbusy = { imap = 1 }\n",
         "line 3: servers[1].busy must map imap / pop3 / smtp to text"),
        ("users = 1\n", "line 1: users must be an array of tables: [[users]]"),
        ("[server]\nhost = \"h\"\n",
         "unknown section 'server' (expected ('portal', 'users', 'mail', 'servers', 'faults', "
         "'impersonation'))"),
    ],
)  # fmt: skip
def test_a_bad_file_is_one_line_naming_file_and_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}: {message}"


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "none.toml")
    assert (
        str(caught.value)
        == f"{tmp_path / 'none.toml'}: no such file (give the path of a simulator .toml)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fail-503", "2"], "fail_503 must be a probability between 0 and 1, not 2.0"),
        (["--latency", "-5"], "latency_ms must not be negative, not -5.0"),
        (["--create-latency", "-5"], "create_latency_ms must not be negative, not -5.0"),
        (["--config", "/nonexistent/sim.toml"],
         "/nonexistent/sim.toml: no such file (give the path of a simulator .toml)"),
    ],
)  # fmt: skip
def test_simulate_refuses_bad_options_with_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--port", "0", *args]) == 2
    assert capsys.readouterr().err == f"bulkmail: error: {message}\n"


def test_a_server_may_limit_the_portals_logins_and_ban_it(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(
        '[[servers]]\nhost = "mail.b.test"\nmax_logins = 5\nban_after = 10\n'
        'busy = { imap = "[LIMIT] Busy" }\n',
        encoding="utf-8",
    )
    (server,) = load_config(path).servers
    assert (server.max_logins, server.ban_after, dict(server.busy)) == (
        5,
        10,
        {"imap": "[LIMIT] Busy"},
    )


def test_a_file_sets_people_and_the_impersonation_switches(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(
        '[[users]]\nlogin = "o@b.c"\npassword = "pw"\nowner = true\n'
        '[[users]]\nlogin = "a@b.c"\npassword = "pw"\nadmin = true\ngroups = ["IT"]\n'
        '[[users]]\nlogin = "x@b.c"\npassword = "pw"\nstatus = "terminated"\nmodule_admin = true\n'
        '[impersonation]\nconfig_key = true\nenabled = true\nenable_type = "limited"\n'
        'allowed_admins = ["a@b.c"]\nrestricted_users = ["x@b.c"]\nrestricted_groups = ["HR"]\n'
        "only_own_groups = true\nroutes = true\nlogout_revokes_header_token = true\n",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.users == (
        PortalUser("o@b.c", "pw", owner=True),
        PortalUser("a@b.c", "pw", admin=True, groups=("IT",)),
        PortalUser("x@b.c", "pw", status="terminated", module_admin=True),
    )
    assert config.impersonation == Impersonation(
        config_key=True, enabled=True, enable_type="limited", only_own_groups=True,
        allowed_admins=("a@b.c",), restricted_users=("x@b.c",), restricted_groups=("HR",),
        logout_revokes_header_token=True,
    )  # fmt: skip


def test_two_owners_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(
        '[[users]]\nlogin = "o@b.c"\npassword = "pw"\nowner = true\n'
        '[[users]]\nlogin = "p@b.c"\npassword = "pw"\nowner = true\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="more than one of \\[\\[users\\]\\] has owner"):
        load_config(path)
