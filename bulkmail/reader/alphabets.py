"""The letters of the languages whose words tell a CSV's code page: data only.

Part of the encoding guess (`reader.words`): a decoding is plausible when each of its words
spells with the letters of one language, and likelier when those letters are common in it.
Lower case throughout (`str.lower()` first).

- `letters`: for a Latin-script language the letters it writes beyond a-z; for the others
  the whole alphabet. Icelandic and Faroese (ð, þ) are left out on purpose: those letters
  are what Turkish and Baltic text becomes when read as cp1252, and nobody here sends mail
  in Icelandic (such a file is refused, not misread; `--encoding cp1252` reads it).
- `shares`: how often some of those letters occur in running text, in percent. Rough on
  purpose (rounded from published letter counts; ё as names write it, not as print drops
  it): they only rank two readings of the same bytes, so a few tenths change nothing.
  A letter of the alphabet not listed counts as `RARE`, one outside it as `FOREIGN`.
"""

from __future__ import annotations

from typing import Final, NamedTuple

RARE: Final = 0.01
FOREIGN: Final = 0.001


class Language(NamedTuple):
    script: str  # "latin", "cyrillic" or "greek"
    letters: frozenset[str]
    shares: dict[str, float]


def _latin(letters: str, shares: str = "") -> Language:
    """Build a Latin-script language from its extra letters and "é 1.9 è 0.27 ..."."""
    pairs = shares.split()
    return Language(
        "latin", frozenset(letters), dict(zip(pairs[::2], map(float, pairs[1::2]), strict=True))
    )


_RUSSIAN: Final = frozenset("абвгдежзийклмнопрстуфхцчшщъыьэюяё")

# fmt: off
LANGUAGES: Final[dict[str, Language]] = {
    "portuguese": _latin("áâãàçéêíóôõúü", "ã 0.7 ç 0.5 á 0.5 ê 0.45 í 0.4 é 0.34 ó 0.3 ú 0.2 â 0.15 õ 0.1 à 0.07 ô 0.06"),  # noqa: E501
    "spanish": _latin("áéíóúñü", "ó 0.8 í 0.7 á 0.5 é 0.4 ñ 0.3 ú 0.2 ü 0.02"),
    "french": _latin("àâæçéèêëîïôœùûüÿ", "é 1.9 à 0.49 è 0.27 ê 0.22 ç 0.09 ù 0.06 û 0.06 î 0.05 ô 0.05 â 0.03"),  # noqa: E501
    "german": _latin("äöüß", "ü 0.7 ä 0.5 ö 0.3 ß 0.3"),
    "italian": _latin("àèéìíîòóùú", "à 0.6 è 0.3 ù 0.2 é 0.1 ì 0.1 ò 0.1"),
    "catalan": _latin("àçèéíïòóúü", "à 0.5 è 0.4 é 0.4 í 0.3 ò 0.3 ó 0.3 ç 0.1 ú 0.1 ï 0.05"),
    "dutch": _latin("áéèëíïóöü", "ë 0.05 é 0.02"),
    "swedish": _latin("åäöé", "ä 1.8 å 1.3 ö 1.3"),
    "danish/norwegian": _latin("åæøé", "å 1.2 æ 0.9 ø 0.9"),
    "finnish": _latin("äöåšž", "ä 3.6 ö 0.4"),
    "estonian": _latin("äöõüšž", "ä 0.8 õ 0.8 ü 0.7 ö 0.2"),
    "polish": _latin("ąćęłńóśźż", "ł 1.8 ę 1.1 ą 1.0 ó 0.8 ż 0.8 ś 0.7 ć 0.4 ń 0.2 ź 0.06"),
    "czech": _latin("áčďéěíňóřšťúůýž", "í 1.6 é 1.2 ě 1.2 ř 1.0 á 0.9 ý 0.9 č 0.8 ž 0.8 š 0.7 ů 0.6 ú 0.1 ň 0.1"),  # noqa: E501
    "slovak": _latin("áäčďéíĺľňóôŕšťúýž", "á 2.0 ý 1.5 í 1.4 č 1.0 é 0.7 š 0.7 ž 0.7 ú 0.7 ť 0.5 ľ 0.4 ň 0.2 ô 0.2 ä 0.1 ď 0.1 ó 0.1"),  # noqa: E501
    "hungarian": _latin("áéíóöőúüű", "é 3.9 á 3.4 ö 1.0 ó 0.9 ő 0.8 í 0.5 ü 0.5 ú 0.3 ű 0.2"),
    "slovene/croatian": _latin("čćđšž", "č 1.1 š 1.0 ž 0.7 ć 0.6 đ 0.2"),
    "romanian": _latin("ăâîșțşţ", "ă 4.0 ș 1.5 ş 1.5 ț 1.1 ţ 1.1 î 1.0 â 0.8"),
    # İ stays a capital: its lower() is two characters
    "turkish": _latin("çğıöşüâîûİ", "ı 5.1 ü 1.9 ş 1.8 ç 1.2 ğ 1.1 ö 0.8 İ 0.5"),
    "albanian": _latin("çë"),  # its ë (8%) would outweigh Lithuanian ė in one-word files
    "lithuanian": _latin("ąčęėįšųūž", "ė 1.5 š 1.1 ž 0.8 ų 0.6 į 0.6 ą 0.6 ū 0.5 č 0.4 ę 0.1"),
    "latvian": _latin("āčēģīķļņšūž", "ā 4.0 ē 1.8 ī 1.6 š 1.2 ž 0.6 ū 0.5 ņ 0.4 ļ 0.4 č 0.3 ķ 0.2 ģ 0.1"),  # noqa: E501
    "russian": Language("cyrillic", _RUSSIAN, {
        "о": 10.97, "е": 8.45, "а": 8.01, "и": 7.35, "н": 6.70, "т": 6.26, "с": 5.47,
        "р": 4.73, "в": 4.54, "л": 4.40, "к": 3.49, "м": 3.21, "д": 2.98, "п": 2.81,
        "у": 2.62, "я": 2.01, "ы": 1.90, "ь": 1.74, "г": 1.70, "з": 1.65, "б": 1.59,
        "ч": 1.44, "й": 1.21, "х": 0.97, "ж": 0.94, "ш": 0.73, "ю": 0.64, "ц": 0.48,
        "щ": 0.36, "э": 0.32, "ф": 0.26, "ё": 0.2, "ъ": 0.04,
    }),
    "ukrainian": Language("cyrillic", _RUSSIAN - frozenset("ёъыэ") | frozenset("єіїґ"), {
        "о": 9.3, "а": 8.3, "н": 6.8, "и": 6.2, "і": 5.9, "т": 5.6, "в": 5.3, "е": 5.1,
        "р": 4.8, "с": 4.3, "к": 3.9, "л": 3.7, "у": 3.4, "д": 3.4, "м": 3.1, "п": 2.9,
        "з": 2.3, "я": 2.2, "ь": 1.7, "б": 1.7, "г": 1.6, "ч": 1.3, "й": 1.2, "х": 1.1,
        "ц": 1.0, "ї": 0.9, "ж": 0.9, "ш": 0.8, "ю": 0.8, "є": 0.6, "щ": 0.6, "ф": 0.3,
        "ґ": 0.05,
    }),
    "bulgarian": Language("cyrillic", _RUSSIAN - frozenset("ёыэ"), {
        "а": 11.1, "и": 8.9, "о": 8.8, "е": 8.1, "н": 7.2, "т": 7.2, "р": 5.1, "с": 4.4,
        "в": 4.2, "л": 3.4, "к": 3.3, "д": 3.1, "п": 2.9, "м": 2.7, "ъ": 2.6, "я": 2.0,
        "з": 1.8, "г": 1.6, "б": 1.5, "у": 1.4, "ч": 1.3, "ц": 0.9, "й": 0.9, "х": 0.8,
        "ж": 0.7, "ш": 0.6, "щ": 0.6, "ю": 0.3, "ф": 0.3, "ь": 0.05,
    }),
    "belarusian": Language("cyrillic", _RUSSIAN - frozenset("ищъ") | frozenset("іў"), {}),
    "serbian": Language("cyrillic", frozenset("абвгдђежзијклљмнњопрстћуфхцчџш"), {}),
    "macedonian": Language("cyrillic", frozenset("абвгдѓежзѕијклљмнњопрстќуфхцчџш"), {}),
    "greek": Language("greek", frozenset("αβγδεζηθικλμνξοπρσςτυφχψωάέήίόύώϊϋΐΰ"), {
        "α": 12.0, "ο": 9.5, "ι": 8.0, "ε": 8.0, "τ": 8.5, "ν": 7.0, "σ": 4.5, "ς": 2.5,
        "ρ": 4.5, "κ": 4.0, "η": 4.0, "π": 4.0, "υ": 3.7, "μ": 3.3, "λ": 3.0, "γ": 2.0,
        "δ": 1.8, "ί": 1.9, "ά": 1.8, "ό": 1.6, "έ": 1.4, "ω": 1.4, "θ": 1.3, "χ": 1.2,
        "ή": 1.1, "ύ": 0.9, "φ": 0.8, "β": 0.7, "ώ": 0.6, "ξ": 0.4, "ζ": 0.4, "ψ": 0.2,
    }),
}
# fmt: on

CYRILLIC_VOWELS: Final = frozenset("аеёиоуыэюяіїєъ")  # ъ is a vowel in Bulgarian
GREEK_VOWELS: Final = frozenset("αεηιουωάέήίόύώϊϋΐΰ")
GREEK_TONOS: Final = frozenset("άέήίόύώΐΰ")
