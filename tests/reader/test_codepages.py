"""The encoding of a CSV told from its words: every code page people save, read exactly.

Issue 11, kind 3: a Western-European CSV read as cp1251 sent `Verгo2024!` for `Verão2024!`.
Each language below is written in each code page its tools save, in a short file (3 rows)
and a longer one; the reader must give back exactly the text written, or refuse (exit 2,
naming --encoding). Never another text.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from bulkmail.errors import InputError
from bulkmail.reader.codepages import Guess, guess
from bulkmail.reader.table import read
from bulkmail.reader.words import judge

# (name, password) rows: names and passwords with the letters each language needs side by side.
LANGUAGES: dict[str, list[tuple[str, str]]] = {
    "russian": [
        ("Иванов Иван Петрович", "Зима2024!"),
        ("Смирнова Ольга", "Ярослав_1"),
        ("Щукин Юрий (отдел продаж)", "пароль-ёлка"),
        ("Фёдорова Алёна", "Москва#7"),
        ("Жуков Эдуард", "Солнце99"),
        ("Цветкова Ксения", "Чайник-3"),
        ("Шестаков Ярослав", "Весна2025"),
        ("Яковлева Наталья", "Ключ_от_офиса"),
    ],
    "ukrainian": [
        ("Шевченко Тарас", "Їжак2024"),
        ("Коваленко Олена (бухгалтерія)", "Ґанок-є7"),
        ("Бондар Євген", "п'ятниця1"),
        ("Гнатюк Ірина", "Київ#5"),
        ("Олійник Богдан", "Сонце-2025"),
        ("Мельник Юлія", "Львів_77"),
        ("Поліщук Ганна", "Черешня9"),
        ("Ткаченко Святослав", "Дніпро!3"),
    ],
    "portuguese": [
        ("Maria da Conceição Silva", "Verão2024!"),
        ("Joao Costa", "Sol-e-mar7"),
        ("Ana Lima (Comunicação)", "Praia#2025"),
        ("Sebastião Gonçalves", "Ação-9"),
        ("Antônio Araújo", "Manutenção1"),
        ("Estêvão Simões", "Informação#3"),
        ("Lourenço Brandão", "São Paulo 22"),
        ("Inês Magalhães", "Coração!8"),
    ],
    "german": [
        ("Hans Müller", "Größe2024!"),
        ("Jürgen Weiß (Vertrieb)", "Straße#7"),
        ("Anna Schröder", "Äpfel-und-Öl9"),
        ("Käthe Bäcker", "Grüße_5"),
        ("Björn Köhler", "Überweisung3"),
        ("Günther Fuß", "Düsseldorf!1"),
        ("Lena Krämer", "Prüfung2025"),
        ("Uwe Jäger", "München#4"),
    ],
    "french": [
        ("François Lefèvre", "Été2024!"),
        ("Hélène Dubois (Comptabilité)", "Noël-à-Paris"),
        ("Zoé Garçon", "Crème#brûlée3"),
        ("Cécile Gérard", "Sécurité5"),
        ("Benoît Mercier", "Château-9"),
        ("Amélie Roux", "Forêt_2025"),
        ("Jérôme Faure", "Hôpital#1"),
        ("Françoise Lemaître", "Rivière77"),
    ],
    "spanish": [
        ("José Muñoz", "Año2024!"),
        ("María Peña (Administración)", "Señal#5"),
        ("Inés Ibáñez", "Corazón-7"),
        ("Álvaro Martín", "Canción9"),
        ("Lucía Rodríguez", "Montaña_3"),
        ("Sebastián Gómez", "Niño#2025"),
        ("Ramón Pérez", "Mañana1"),
        ("Verónica Sánchez", "Jardín!8"),
    ],
    "greek": [
        ("Γιώργος Παπαδόπουλος", "Καλημέρα2024!"),
        ("Ελένη Κωνσταντίνου (Λογιστήριο)", "θάλασσα#7"),
        ("Νίκος Αθανασίου", "Ήλιος-99"),
        ("Μαρία Δημητρίου", "Αθήνα_5"),
        ("Ιωάννης Οικονόμου", "Θεσσαλονίκη3"),
        ("Σοφία Γεωργίου", "Καλοκαίρι#1"),
        ("Δημήτρης Νικολάου", "Ουρανός2025"),
        ("Αικατερίνη Βλάχου", "Βουνό!8"),
    ],
    "lithuanian": [
        ("Jonas Šiaulys", "Ąžuolas#7"),
        ("Rūta Žemaitė (Buhalterija)", "Saulė2024!"),
        ("Eglė Čiurlionytė", "Ūkis-5"),
        ("Kęstutis Mažeika", "Vilnius_3"),
        ("Gintarė Petrauskienė", "Žiema2025"),
        ("Tomas Jankauskas", "Šviesa#1"),
        ("Aušra Kazlauskienė", "Giedrė!8"),
        ("Mindaugas Žukauskas", "Ąsotis9"),
    ],
    "latvian": [
        ("Jānis Bērziņš", "Ziema2024!"),
        ("Ģirts Ķēniņš (Grāmatvedība)", "Ūdens#7"),
        ("Līga Ozoliņa", "Mājas-5"),
        ("Mārtiņš Kalniņš", "Rīga_3"),
        ("Anna Liepiņa", "Saule2025"),
        ("Edgars Zariņš", "Jūrmala#1"),
        ("Ilze Krūmiņa", "Dzērve!8"),
        ("Raimonds Vējonis", "Ābele9"),
    ],
    "polish": [
        ("Michał Wójcik", "Źródło2024!"),
        ("Agnieszka Łęcka (Księgowość)", "Żółw#7"),
        ("Paweł Kozłowski", "Gęś-5"),
        ("Małgorzata Wiśniewska", "Kraków_3"),
        ("Grzegorz Dąbrowski", "Łódź2025"),
        ("Katarzyna Zielińska", "Gdańsk#1"),
        ("Tomasz Szymański", "Wrocław!8"),
        ("Bożena Woźniak", "Ćma9"),
    ],
    "japanese": [
        ("山田太郎", "春2024!"),
        ("佐藤花子（営業部）", "さくら#7"),
        ("鈴木一郎", "ﾊﾟｽﾜｰﾄﾞ-5"),
        ("田中美咲", "東京_3"),
        ("高橋健", "大阪2025"),
        ("伊藤さくら", "富士山#1"),
        ("渡辺翔太", "ありがとう9"),
        ("中村優子（経理部）", "みどり!8"),
    ],
}

# (language, what the file is saved in, what bulkmail reports): the code pages Russian,
# Ukrainian and Western Windows, DOS and Mac tools save, then Greek, Baltic, Central
# European and Japanese Windows. ISO 8859-7 Greek is read as cp1253, which spells it alike.
SAVED = [
    ("russian", "cp1251", "cp1251"),
    ("russian", "koi8-r", "koi8-r"),
    ("russian", "cp866", "cp866"),
    ("russian", "mac-cyrillic", "mac-cyrillic"),
    ("ukrainian", "cp1251", "cp1251"),
    ("ukrainian", "koi8-u", "koi8-u"),
    ("ukrainian", "mac-cyrillic", "mac-cyrillic"),
    ("portuguese", "cp1252", "cp1252"),
    ("portuguese", "mac-roman", "mac-roman"),
    ("german", "cp1252", "cp1252"),
    ("german", "mac-roman", "mac-roman"),
    ("french", "cp1252", "cp1252"),
    ("french", "mac-roman", "mac-roman"),
    ("spanish", "cp1252", "cp1252"),
    ("spanish", "mac-roman", "mac-roman"),
    ("greek", "cp1253", "cp1253"),
    ("greek", "iso8859-7", "cp1253"),
    ("lithuanian", "cp1257", "cp1257"),
    ("latvian", "cp1257", "cp1257"),
    ("polish", "cp1250", "cp1250"),
    ("japanese", "cp932", "cp932"),
]


def sheet(language: str, rows: int) -> str:
    """Return a CSV of `rows` mailboxes whose names and passwords are in `language`."""
    lines = ["email;name;password;server"] + [
        f"u{i}@mail.example;{name};{password};imap.mail.example"
        for i, (name, password) in enumerate(LANGUAGES[language][:rows])
    ]
    return "\r\n".join(lines) + "\r\n"


def cells(text: str) -> list[list[str]]:
    return [line.split(";") for line in text.splitlines()]


def read_back(path: Path) -> list[list[str]]:
    table = read(path)
    return [list(table.headers), *(list(row.cells) for row in table.rows)]


@pytest.mark.parametrize("rows", [3, 8], ids=["short", "long"])
@pytest.mark.parametrize(("language", "saved", "reported"), SAVED)
def test_each_code_page_is_read_exactly(
    tmp_path: Path, language: str, saved: str, reported: str, rows: int
) -> None:
    text = sheet(language, rows)
    path = tmp_path / "in.csv"
    path.write_bytes(text.encode(saved))
    table = read(path)
    assert (table.info.encoding, table.info.encoding_sure) == (reported, True)
    assert (table.info.encoding_basis, table.info.encoding_rivals) == ("its words", ())
    assert read_back(path) == cells(text)


UNICODE = [
    ("utf-8", b"", "utf-8", "valid UTF-8"),
    ("utf-8", codecs.BOM_UTF8, "utf-8-sig", "byte order mark"),
    ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16-le", "byte order mark"),
    ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16-be", "byte order mark"),
    ("utf-16-le", b"", "utf-16-le", "UTF-16 zero bytes"),
    ("utf-16-be", b"", "utf-16-be", "UTF-16 zero bytes"),
]


@pytest.mark.parametrize("rows", [3, 8], ids=["short", "long"])
@pytest.mark.parametrize("language", ["russian", "portuguese", "greek", "japanese"])
@pytest.mark.parametrize(("saved", "bom", "reported", "basis"), UNICODE)
def test_unicode_is_read_exactly(
    tmp_path: Path, saved: str, bom: bytes, reported: str, basis: str, language: str, rows: int
) -> None:
    text = sheet(language, rows)
    path = tmp_path / "in.csv"
    path.write_bytes(bom + text.encode(saved))
    table = read(path)
    assert (table.info.encoding, table.info.encoding_basis) == (reported, basis)
    assert table.info.encoding_sure is True
    assert read_back(path) == cells(text)


@pytest.mark.parametrize(
    ("text", "saved", "message"),
    [
        # One accented letter alone: à, а, ю, Я ... every code page spells a word of it.
        ("email;name\na@x.example;é\n", "cp1252", "cp1251 or cp1252 or koi8-r or mac-roman"),
        # дом in cp1251 is ДНЛ in koi8-r: capitals, as an abbreviation may be.
        ("email;name\na@x.example;дом\n", "cp1251", "cp1251 or koi8-r"),
        # Latvian's ē and ī are far more common than French ç and î: letters alone would
        # take this for cp1257 (FRANĒOIS BENOĪT), but cp1252 is far more often saved.
        (
            "email;name;password\na@x.example;FRANÇOIS BENOÎT;Benoît67!\n",
            "cp1252",
            "cp1252 or cp1257",
        ),
    ],
)
def test_words_two_code_pages_read_alike_are_refused(
    tmp_path: Path, text: str, saved: str, message: str
) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(text.encode(saved))
    with pytest.raises(InputError) as caught:
        read(path)
    assert caught.value.message == (
        f"cannot tell the text encoding of in.csv: its words read as {message} equally well"
    )
    assert "--encoding" in caught.value.hint


@pytest.mark.parametrize(
    ("text", "saved", "reported"),
    [
        ("email,name\na@x.example,محمد علي\nb@x.example,فاطمة حسن\n", "cp1256", "cp1256"),
        ("email,name\na@x.example,王小明\nb@x.example,李华（销售部）\n", "gbk", "gb18030"),
        ("email,name\na@x.example,김민수\nb@x.example,이영희\n", "cp949", "cp949"),
        (
            "email,name\na@x.example,Иван Петров\nb@x.example,Ольга Смирнова\n",
            "iso8859-5",
            "iso8859-5",
        ),
    ],
)
def test_scripts_not_modelled_are_read_on_charset_normalizers_guess_not_sure(
    tmp_path: Path, text: str, saved: str, reported: str
) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(text.encode(saved))
    info = read(path).info
    assert (info.encoding, info.encoding_sure, info.encoding_basis) == (
        reported,
        False,
        "charset-normalizer's guess",
    )
    assert read_back(path) == [line.split(",") for line in text.splitlines()]


@pytest.mark.parametrize(
    ("text", "saved", "message"),
    [
        # Hebrew letters are koi8-r's capitals: ЦПД КДО ЮАИ ЛЕИ spells, as abbreviations do.
        (
            "email,name\na@x.example,דנה כהן\nb@x.example,אבי לוי\n",
            "cp1255",
            "its words read as koi8-r or cp1255 equally well",
        ),
        (
            "email,name\na@x.example,สมชาย ใจดี\nb@x.example,สมหญิง รักไทย\n",
            "cp874",
            "no code page bulkmail knows reads its words",
        ),
    ],
)
def test_other_scripts_are_refused_rather_than_read_wrong(
    tmp_path: Path, text: str, saved: str, message: str
) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(text.encode(saved))
    with pytest.raises(InputError) as caught:
        read(path)
    assert caught.value.message == f"cannot tell the text encoding of in.csv: {message}"
    assert "--encoding" in caught.value.hint


def test_a_lone_nul_byte_does_not_make_a_file_utf16(tmp_path: Path) -> None:
    # csvkit's examples/null_byte.csv: one NUL in an 8-bit file once made it all UTF-16.
    path = tmp_path / "in.csv"
    path.write_bytes("email;name\na@x.example;Ив\0ан\nb@x.example;Ольга\n".encode("cp1251"))
    table = read(path)
    assert (table.info.encoding, table.info.encoding_sure) == ("cp1251", True)
    assert read_back(path) == [
        ["email", "name"],
        ["a@x.example", "Ив\0ан"],
        ["b@x.example", "Ольга"],
    ]


@pytest.mark.parametrize(
    "name",
    [
        "© 2024 Empresa",  # one ©: once read as cp932, where it is a half-width kana
        "Conceição Ltda ©",
        "Café Crème",
        "Straße 1",
    ],
)
def test_latin_files_are_not_read_as_another_script(tmp_path: Path, name: str) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(f"email;name\na@x.example;{name}\n".encode("cp1252"))
    assert read_back(path) == [["email", "name"], ["a@x.example", name]]


def test_letters_tell_lower_case_koi8r_from_the_capitals_cp1251_makes_of_it(
    tmp_path: Path,
) -> None:
    # Both readings spell: koi8-r's lower case is cp1251's capitals (ИВАН ПЕТРОВ ...), an
    # abbreviation's case; only how common the letters are in Russian tells them apart.
    text = "email;name;password\r\na@x.ru;иван петров;весна2024\r\nb@x.ru;иванова;ключ99\r\n"
    path = tmp_path / "in.csv"
    path.write_bytes(text.encode("koi8-r"))
    assert read(path).info.encoding == "koi8-r"
    assert read_back(path) == cells(text)


def test_a_guess_other_code_pages_share_is_not_sure() -> None:
    # Müller saved on a Mac: mac-roman's ü is cp1250's ź (Mźller), also a plausible word.
    found = guess("email;name\na@x.example;Müller\n".encode("mac-roman"), "in.csv")
    assert found == Guess("mac-roman", rivals=("cp1250",))
    assert not found.sure


@pytest.mark.parametrize(
    ("word", "plausible"),
    [
        ("Conceição", True),
        ("Verão", True),
        ("Größe", True),
        ("żółć", True),  # Polish: three letters beyond Latin-1 in a row
        ("VerãoPraia", True),  # a camelCase password
        ("«Ромашка»", True),
        ("„Ромашка“", True),
        ("м’ята", True),
        ("ООО", True),  # an abbreviation in capitals needs no vowel
        ("Санкт–Петербург", True),
        ("Γιώργος", True),
        ("山田太郎", True),
        ("ﾊﾟｽﾜｰﾄﾞ", True),
        ("€", True),
        ("Verгo", False),  # cp1252's ã read as cp1251: Latin and Cyrillic in one word
        ("Èâàíîâ", False),  # cp1251's Иванов read as cp1252: a run of Latin-1 letters
        ("âîëê", False),  # cp1251's волк read as cp1252: all French letters, but four in a row
        ("áàê", False),  # cp1251's бак: all Portuguese letters, three in a row
        ("Ðiauliø", False),  # cp1257's Šiaulių read as cp1252: letters of no one language
        ("хБЮМНБ", False),  # cp1251's Иванов read as koi8-r: case jumps
        ("ЯблокоЗима", False),  # Cyrillic words have no humps (koi8-r/cp1251 garbage has)
        ("ьяна", False),  # ь first
        ("аьб", False),  # ь after a vowel
        ("грд", False),  # no vowel in lower case: cp1255 Hebrew read as cp1251
        ("‘тепанов", False),  # Mac Cyrillic's С read as cp1251: a quote opening it wrong
        ("“Ромашка”", False),  # not Russian quotes
        ("–веткова", False),  # Mac Cyrillic's Ц read as cp1251: a dash glued on
        ("Ver‹o", False),  # a sign inside a word
        ("Кл€юч", False),
        ("γιώργόσ", False),  # two stressed vowels, and σ where ς ends a word
        ("╘", False),  # box drawing: koi8-r read of a ©
        ("–£‘“", False),  # signs run together
    ],
)
def test_a_word_is_judged_as_a_person_would_type_it(word: str, plausible: bool) -> None:
    judged = judge(word)
    assert judged is not None and judged.plausible is plausible


@pytest.mark.parametrize("word", ["Smith", "O’Neil", "123", "п"])
def test_a_word_without_a_letter_beyond_ascii_tells_nothing(word: str) -> None:
    assert judge(word) is None
