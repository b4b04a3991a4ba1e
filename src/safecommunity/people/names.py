"""Searchable forms of Chinese names: characters, full pinyin and initials.

``张三`` is found by ``张三``, ``zhangsan`` and ``zs``. A surname read two ways (曾 zeng/ceng,
单 shan/dan, 解 xie/jie, 区 ou/qu, …) gets a key for each reading, because people type the
one they know. The given name takes pypinyin's reading in context.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

# Surnames with more than one reading in use. The first is the reading as a surname.
SURNAME_READINGS: dict[str, tuple[str, ...]] = {
    "曾": ("zeng", "ceng"),
    "单": ("shan", "dan"),
    "解": ("xie", "jie"),
    "区": ("ou", "qu"),
    "仇": ("qiu", "chou"),
    "朴": ("piao", "pu"),
    "查": ("zha", "cha"),
    "盖": ("ge", "gai"),
    "缪": ("miao", "mou"),
    "覃": ("qin", "tan"),
    "种": ("chong", "zhong"),
    "乐": ("yue", "le"),
    "尉": ("yu", "wei"),
    "繁": ("po", "fan"),
    "长": ("chang", "zhang"),
    "万": ("wan", "mo"),
    "秘": ("bi", "mi"),
    "员": ("yun", "yuan"),
    "翟": ("zhai", "di"),
    "召": ("shao", "zhao"),
}
COMPOUND_SURNAMES = frozenset(
    {"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "司徒"}
)


def _letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


@lru_cache(maxsize=262144)
def _syllables(text: str) -> list[str]:
    # Given names repeat far more than whole names (伟, 芳, 建国 …): caching them separately
    # keeps pypinyin, the slow part of an import, off most rows.
    return [_letters(s) for s in lazy_pinyin(text, style=Style.NORMAL)]


@lru_cache(maxsize=65536)
def name_keys(name: str) -> frozenset[str]:
    """Every key under which ``name`` is found (all lower case, no spaces)."""
    name = re.sub(r"\s+", "", name)
    if not name:
        return frozenset()
    keys = {name.lower()}
    surname_len = 2 if name[:2] in COMPOUND_SURNAMES else 1
    surname, given = name[:surname_len], name[surname_len:]
    given_syllables = _syllables(given)
    surname_options: list[list[str]] = [_syllables(surname)]
    for reading in SURNAME_READINGS.get(surname, ()):
        if [reading] not in surname_options:
            surname_options.append([reading])
    for surname_syllables in surname_options:
        syllables = [s for s in surname_syllables + given_syllables if s]
        if not syllables:
            continue
        keys.add("".join(syllables))
        keys.add("".join(s[0] for s in syllables))
    return frozenset(keys)


def query_key(text: str) -> str:
    """A search box's text as a key prefix: spaces dropped, Latin letters lower-cased."""
    return re.sub(r"\s+", "", text).lower()
