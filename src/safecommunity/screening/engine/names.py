"""Chinese names as the engine compares them: characters, toneless pinyin and the surname
(near-misses of typing by ear, zh/z or -ng/-n, are caught by Jaro–Winkler on the pinyin).
Traditional characters read like their simplified forms (偉 and 伟 are both "wei"), so
a name typed in either script agrees at the homophone level at least."""

from __future__ import annotations

import re
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

COMPOUND_SURNAMES = frozenset(
    {
        "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
        "司徒", "夏侯", "轩辕", "令狐", "宇文", "澹台", "歐陽", "諸葛", "司馬",
    }
)  # fmt: skip

# The surname reading, where pypinyin would read the character as a common word.
SURNAME_READINGS = {
    "曾": "zeng", "单": "shan", "解": "xie", "区": "ou", "仇": "qiu", "朴": "piao",
    "查": "zha", "盖": "ge", "缪": "miao", "覃": "qin", "种": "chong", "乐": "yue",
    "尉": "yu", "长": "chang", "秘": "bi", "员": "yun", "翟": "zhai", "召": "shao",
    "单于": "chanyu", "葛": "ge", "沈": "shen", "石": "shi", "柏": "bai", "薄": "bo",
}  # fmt: skip

_NOT_LETTERS = re.compile(r"[^a-z]")
_SPACES = re.compile(r"[\s·•.\-]+")


def clean(name: str | None) -> str:
    """The name without spaces and middle dots (少数民族 names: 阿依古丽·买买提)."""
    return _SPACES.sub("", name or "").strip()


def surname(name: str) -> str:
    return name[:2] if name[:2] in COMPOUND_SURNAMES else name[:1]


@lru_cache(maxsize=65536)
def reading(character: str) -> str:
    """A character's usual toneless reading ("" for one pypinyin does not know)."""
    found = lazy_pinyin(character, style=Style.NORMAL, errors="ignore")
    return _NOT_LETTERS.sub("", found[0].lower()) if found else ""


def pinyin(name: str) -> str:
    """Toneless pinyin, one syllable per character, separated by spaces ("zhang wei").

    Character by character, not by pypinyin's phrase context: the index and every risk list
    must read a name the same way, and a per-character table makes that cheap (a million
    names a second). The surname takes its surname reading (曾 zeng, 单 shan). Latin letters
    pass through lower-cased, one word per syllable."""
    return pinyin_many([name])[0]


# A character's reading and a space after it ("" for a character without one), as a
# ``str.translate`` table: reading a name is then one call in C. Filled as characters come.
_SYLLABLES: dict[int, str] = {}


def pinyin_many(values: list[str]) -> list[str]:
    """``pinyin`` of each value."""
    table = _SYLLABLES
    for character in set("".join(values)):
        if ord(character) not in table:
            found = reading(character)
            table[ord(character)] = f"{found} " if found else ""
    out = []
    for name in values:
        if name.isascii():
            out.append(" ".join(_NOT_LETTERS.sub(" ", name.lower()).split()))
            continue
        if not name.isalnum():  # spaces, middle dots: only clean what needs it
            name = clean(name)
        head = surname(name)
        if head in SURNAME_READINGS:
            out.append(f"{SURNAME_READINGS[head]} {name[len(head) :].translate(table)}".rstrip())
        else:
            out.append(name.translate(table).rstrip())
    return out
