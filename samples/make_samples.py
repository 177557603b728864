"""(Re)write the committed sample inputs, byte for byte the same on every run.

    python samples/make_samples.py [OUTPUT_DIR]     (default: the folder of this script)

accounts.xlsx         Northwind Trading: 30 rows, 14 portal users; 25 valid, 5 wrong on purpose
                      (see the comments in PEOPLE); the demo's input
accounts-ru.csv       cp1251, ';', CRLF, Russian headers and names, as Russian Excel saves it
defaults.toml         org-wide defaults for blank cells
only-email-password.csv  email + password (+ portal user) only: valid with --defaults
"""

from __future__ import annotations

import csv
import datetime
import io
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.writer.excel import ExcelWriter

# A fixed moment for every timestamp inside the XLSX, so the file only changes with its data.
FIXED = datetime.datetime(2026, 1, 15, 9, 0, 0)

HEADERS = (
    "Portal user", "Portal password", "Display name", "Email", "Login", "Password",
    "IMAP server", "Port", "SSL", "IMAP", "SMTP server", "SMTP port", "SMTP SSL", "Auth type",
    "Last 30 days", "Department",
)  # fmt: skip

# Mail settings of the three domains: (IMAP server, port, SSL, IMAP?, SMTP server, port, SSL).
SETUPS: dict[str, tuple[Any, ...]] = {
    "org": ("imap.example.org", 993, "SSL", True, "smtp.example.org", 465, "SSL"),
    "com": ("mail.example.com", 143, "StartTLS", True, "mail.example.com", 587, "StartTLS"),
    "net": ("pop.example.net", 995, "SSL", False, "smtp.example.net", 465, "SSL"),
}

# One mailbox: (email, mailbox password, setup, cells that differ from the setup).
Box = tuple[str, Any, str, dict[str, Any]]
# (portal login, display name, department, mailboxes)
PEOPLE: list[tuple[str, str, str, list[Box]]] = [
    ("anna.berg", "Anna Berg", "Sales", [
        ("anna.berg@example.org", "Fjord-Lantern-41", "org", {}),
        ("sales@example.com", "Sales-Desk-2026", "com", {"Display name": "Northwind Sales"}),
        ("anna.berg@example.net", "Old-Harbour-7", "net", {"Login": "anna.berg"}),
    ]),
    ("david.okafor", "David Okafor", "Support", [
        ("david.okafor@example.org", "Copper-Kettle-88", "org", {}),
        ("support@example.com", "Help-Line-3030", "com", {"Display name": "Northwind Support"}),
    ]),
    ("maria.lopez", "Maria Lopez", "Finance", [
        # Wrong on purpose: the address lost its @.
        ("maria.lopez.example.org", "Quiet-Meadow-12", "org", {}),
    ]),
    ("james.chen", "James Chen", "Finance", [
        ("james.chen@example.org", "Silver-Birch-57", "org", {}),
        # Valid, but the simulator refuses any mailbox password containing "wrong".
        ("billing@example.com", "pass-wrong-42", "com", {"Display name": "Northwind Billing"}),
        ("james.chen@example.net", "Night-Train-19", "net", {"Login": "jchen"}),
    ]),
    ("sofia.rossi", "Sofia Rossi", "People", [
        ("sofia.rossi@example.org", "Olive-Grove-23", "org", {"Last 30 days": True}),
        ("hr@example.org", "People-First-64", "org", {"Display name": "Northwind HR"}),
    ]),
    ("liam.walsh", "Liam Walsh", "Warehouse", [
        # Wrong on purpose: a typo in the port.
        ("liam.walsh@example.org", "Stone-Bridge-30", "org", {"Port": 99999}),
    ]),
    ("yuki.tanaka", "Yuki Tanaka", "Logistics", [
        ("yuki.tanaka@example.org", "Paper-Crane-75", "org", {}),
        # Wrong on purpose: not an encryption type the portal knows.
        ("logistics@example.com", "Forklift-Route-5", "com",
         {"Display name": "Northwind Logistics", "SSL": "TLS1.3"}),
    ]),
    ("omar.haddad", "Omar Haddad", "IT", [
        # Warning only: 993 is the SSL port, StartTLS is probably a slip.
        ("omar.haddad@example.org", "Desert-Rose-36", "org", {"SSL": "StartTLS"}),
        ("omar.haddad@example.net", "Sand-Dune-92", "net", {"Login": "ohaddad", "IMAP": None}),
    ]),
    ("emma.schmidt", "Emma Schmidt", "Marketing", [
        ("emma.schmidt@example.org", "Bright-Poster-48", "org", {"Auth type": "Login"}),
        ("marketing@example.com", "Launch-Week-2026", "com",
         {"Display name": "Northwind Marketing"}),
    ]),
    ("lucas.silva", "Lucas Silva", "Sales", [
        ("lucas.silva@example.org", "Samba-Rhythm-14", "org", {"Last 30 days": False}),
        # Wrong on purpose: OAuth2 cannot be created with a password.
        ("lucas.silva@example.com", "Token-Only-1", "com", {"Auth type": "OAuth2"}),
    ]),
    ("nina.kowalski", "Nina Kowalski", "Purchasing", [
        ("nina.kowalski@example.org", "Amber-Coast-66", "org", {}),
        ("purchasing@example.com", "Order-Book-808", "com",
         {"Display name": "Northwind Purchasing"}),
    ]),
    ("peter.novak", "Peter Novak", "IT", [
        ("peter.novak@example.org", "Tatra-Peak-2655", "org", {}),
        # A numeric password: Excel stores it as a number (calamine reads 20260415.0).
        ("it@example.org", 20260415, "org", {"Display name": "Northwind IT"}),
        ("peter.novak@example.net", "Castle-Hill-21", "net", {"Login": "pnovak"}),
    ]),
    ("grace.lee", "Grace Lee", "Events", [
        ("grace.lee@example.org", "Lotus-Pond-39", "org", {}),
        ("events@example.com", "Gala-Night-2026", "com", {"Display name": "Northwind Events"}),
    ]),
    ("tom.brennan", "Tom Brennan", "Warehouse", [
        ("tom.brennan@example.org", "Green-Valley-83", "org", {"IMAP": None, "SSL": None}),
        ("tom.brennan@example.net", "Harbour-Lights-4", "net", {"Login": "tbrennan"}),
    ]),
]  # fmt: skip

# Wrong on purpose: Anna's own mailbox again (other case), which the portal would overwrite.
DUPLICATE: tuple[str, str, str, Box] = (
    "anna.berg", "Anna Berg", "Sales", ("Anna.Berg@example.org", "Fjord-Lantern-41", "org", {})
)  # fmt: skip


def portal_password(login: str) -> str:
    """Return the sample portal password of a login: Portal-Anna-2026."""
    return f"Portal-{login.split('.')[0].capitalize()}-2026"


def xlsx_rows() -> list[list[Any]]:
    """Return the sample sheet's data rows in HEADERS order."""
    rows = []
    people = [(p, n, d, box) for p, n, d, boxes in PEOPLE for box in boxes]
    for login, name, department, (email, password, setup, changes) in [*people, DUPLICATE]:
        server, port, ssl, imap, smtp, smtp_port, smtp_ssl = SETUPS[setup]
        cells: dict[str, Any] = {
            "Portal user": f"{login}@example.org", "Portal password": portal_password(login),
            "Display name": name, "Email": email, "Password": password, "IMAP server": server,
            "Port": port, "SSL": ssl, "IMAP": imap, "SMTP server": smtp, "SMTP port": smtp_port,
            "SMTP SSL": smtp_ssl, "Department": department, **changes,
        }  # fmt: skip
        rows.append([cells.get(header) for header in HEADERS])
    return rows


class _FixedTimeZip(zipfile.ZipFile):
    """A ZipFile that stamps every member with FIXED instead of the current time."""

    def writestr(self, zinfo_or_arcname: Any, data: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = zipfile.ZipInfo(zinfo_or_arcname, FIXED.timetuple()[:6])
            zinfo_or_arcname.compress_type = zipfile.ZIP_DEFLATED
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)

    def write(self, filename: Any, arcname: Any = None, *args: Any, **kwargs: Any) -> None:
        # openpyxl writes each sheet to a temporary file first, stamped with its mtime.
        self.writestr(str(arcname or filename), Path(filename).read_bytes())


def write_xlsx(path: Path) -> None:
    """Write accounts.xlsx: bold headers, numbers as numbers, booleans as booleans."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Accounts"
    sheet.append(list(HEADERS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in xlsx_rows():
        sheet.append(row)
    for column, width in zip("ABCDEFGHIJKLMNOP", (28, 20, 20, 28, 10, 20, 18, 7, 9, 7, 18,
                                                   10, 9, 10, 12, 12), strict=True):  # fmt: skip
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    book.properties.creator = "bulkmail samples"
    book.properties.created = book.properties.modified = FIXED
    # save() would stamp "modified" with the current time; ExcelWriter writes it as set.
    with _FixedTimeZip(path, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).write_data()


RU_HEADERS = ("Пользователь портала", "Пароль портала", "ФИО", "Почта", "Пароль", "Сервер",
              "Порт", "IMAP", "SMTP server", "SMTP port")  # fmt: skip
RU_PEOPLE = [
    ("i.petrov", "Иван Петров", "i.petrov", "Sever-Veter-11", "993", "да"),
    ("i.petrov", "Отдел продаж", "sales", "Prodazhi-2026", "993", "да"),
    ("o.smirnova", "Ольга Смирнова", "o.smirnova", "Belaya-Noch-25", "993", "да"),
    ("a.kuznetsov", "Алексей Кузнецов", "a.kuznetsov", "Volga-Reka-73", "993", "да"),
    ("a.kuznetsov", "Алексей Кузнецов (архив)", "kuznetsov.old", "Staryi-Yashik-9", "995", "нет"),
    ("e.volkova", "Елена Волкова", "e.volkova", "Zimnii-Sad-48", "993", "да"),
    ("d.sokolov", "Дмитрий Соколов", "d.sokolov", "Ural-Kamen-30", "993", "да"),
    ("d.sokolov", "Бухгалтерия", "buh", "Balans-1C-2026", "993", "да"),
]  # fmt: skip


def write_ru_csv(path: Path) -> None:
    """Write accounts-ru.csv as Russian Excel saves "CSV (разделители - точка с запятой)"."""
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    writer.writerow(RU_HEADERS)
    for login, name, box, password, port, imap in RU_PEOPLE:
        first = login.split(".")[1].capitalize()
        writer.writerow([f"{login}@example.ru", f"Portal-{first}-2026", name,
                         f"{box}@example.ru", password, "mail.example.ru", port, imap,
                         "smtp.example.ru", "465"])  # fmt: skip
    path.write_bytes(text.getvalue().encode("cp1251"))


DEFAULTS_TOML = """\
# Org-wide defaults for bulkmail: they fill blank cells; a value in the sheet always wins,
# and --set FIELD=VALUE on the command line wins over this file.
#   bulkmail validate samples/only-email-password.csv --defaults samples/defaults.toml
# Keys are column names (or their aliases, quoted: "IMAP server" = ...).

[defaults]
# Incoming mail: IMAP over SSL on the standard port.
server = "imap.example.org"
port = 993
imap = true
incoming_encryption_type = "SSL"    # None, SSL or StartTLS

# Outgoing mail: SMTP over SSL. SMTP login and password default to the incoming ones.
smtp_server = "smtp.example.org"
smtp_port = 465
outcoming_encryption_type = "SSL"
smtp_auth = true
"""

SHORT_PEOPLE = [
    ("anna.berg", "Fjord-Lantern-41"), ("david.okafor", "Copper-Kettle-88"),
    ("sofia.rossi", "Olive-Grove-23"), ("peter.novak", "Tatra-Peak-2655"),
    ("grace.lee", "Lotus-Pond-39"),
]  # fmt: skip


def write_short_csv(path: Path) -> None:
    """Write only-email-password.csv: UTF-8, ',' and the four columns a defaults run needs."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["email", "password", "portal_user", "portal_password"])
    for login, password in SHORT_PEOPLE:
        email = f"{login}@example.org"
        writer.writerow([email, password, email, portal_password(login)])
    path.write_text(text.getvalue(), encoding="utf-8")


def main(argv: list[str]) -> int:
    """Write every sample into argv[1] (default: this script's folder)."""
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    write_xlsx(out / "accounts.xlsx")
    write_ru_csv(out / "accounts-ru.csv")
    (out / "defaults.toml").write_text(DEFAULTS_TOML, encoding="utf-8")
    write_short_csv(out / "only-email-password.csv")
    if len(argv) <= 1:  # `bulkmail demo` ships the same sheet inside the package
        shutil.copyfile(out / "accounts.xlsx", out.parent / "bulkmail" / "data" / "accounts.xlsx")
    print(f"wrote accounts.xlsx, accounts-ru.csv, defaults.toml, only-email-password.csv to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
