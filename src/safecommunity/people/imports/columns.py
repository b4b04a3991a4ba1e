"""The columns of a resident file: their Chinese and English names, and how each cell's text
becomes a value. Messages name the value and say what is expected."""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date, datetime
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from safecommunity.people.models import Relation

# Field → the header names accepted for it (compared after ``normalize_header``).
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "name", "full_name"),
    "gender": ("性别", "gender", "sex"),
    "birth_date": (
        "出生日期",
        "出生年月日",
        "生日",
        "birth_date",
        "birthdate",
        "date_of_birth",
        "dob",
    ),
    "id_number": (
        "身份证号",
        "身份证号码",
        "公民身份号码",
        "身份证",
        "证件号码",
        "id_number",
        "id_no",
        "idno",
        "id",
    ),
    "phone": (
        "手机",
        "手机号",
        "手机号码",
        "电话",
        "电话号码",
        "联系电话",
        "联系方式",
        "phone",
        "mobile",
        "tel",
        "telephone",
    ),
    "ethnicity": ("民族", "ethnicity", "nationality"),
    "address": ("地址", "标准地址", "住址", "房屋地址", "居住地址", "address", "standard_address"),
    "relation": ("关系", "人房关系", "与户主关系", "relation", "relationship"),
    "registered": ("户籍", "户籍类型", "人口类型", "是否户籍", "registered", "hukou"),
    "since": ("入住日期", "入住时间", "居住起始日期", "since", "move_in", "moved_in"),
    "notes": ("备注", "notes", "note", "remarks"),
    "grid": ("网格编码", "网格", "网格代码", "grid", "grid_code"),
}
# The columns a resident file is written with (exports, the demo's CSV writer), in order.
# Headers are each field's first alias in Chinese, or the field name in English.
FILE_COLUMNS: tuple[str, ...] = (
    "name",
    "gender",
    "birth_date",
    "id_number",
    "phone",
    "ethnicity",
    "address",
    "relation",
    "registered",
    "since",
    "notes",
)


def chinese_header(fields: tuple[str, ...] = FILE_COLUMNS) -> tuple[str, ...]:
    return tuple(ALIASES[field][0] for field in fields)


LABELS: dict[str, Any] = {
    "name": gettext_lazy("name (姓名)"),
    "gender": gettext_lazy("gender (性别)"),
    "birth_date": gettext_lazy("date of birth (出生日期)"),
    "id_number": gettext_lazy("ID number (身份证号)"),
    "phone": gettext_lazy("phone (手机)"),
    "address": gettext_lazy("address (地址)"),
}
_HEADER_FIELD = {
    alias: field for field, aliases in ALIASES.items() for alias in aliases
}  # normalised alias → field


def normalize_header(text: str) -> str:
    """``" 出生日期（yyyy-mm-dd）*"`` → ``出生日期``; ``"Birth Date"`` → ``birth_date``."""
    text = unicodedata.normalize("NFKC", text).replace("\ufeff", "").strip()
    text = re.sub(r"\(.*?\)", "", text)
    text = text.strip(" *:").lower()
    return re.sub(r"[\s\-]+", "_", text).strip("_")


def field_for_header(text: str) -> str | None:
    return _HEADER_FIELD.get(normalize_header(text))


# --- Values --------------------------------------------------------------------------------

_GENDERS = {
    "男": "male",
    "男性": "male",
    "m": "male",
    "male": "male",
    "女": "female",
    "女性": "female",
    "f": "female",
    "female": "female",
}
_RELATIONS = {
    "户主": Relation.OWNER,
    "业主": Relation.OWNER,
    "房主": Relation.OWNER,
    "本人": Relation.OWNER,
    "owner": Relation.OWNER,
    "家属": Relation.OWNER_FAMILY,
    "户主家属": Relation.OWNER_FAMILY,
    "业主家属": Relation.OWNER_FAMILY,
    "owner_family": Relation.OWNER_FAMILY,
    "family": Relation.OWNER_FAMILY,
    "租户": Relation.TENANT,
    "承租人": Relation.TENANT,
    "租客": Relation.TENANT,
    "tenant": Relation.TENANT,
    "其他": Relation.OTHER,
    "其它": Relation.OTHER,
    "other": Relation.OTHER,
}
_REGISTERED = {
    "是": True,
    "户籍": True,
    "户籍人口": True,
    "yes": True,
    "y": True,
    "true": True,
    "1": True,
    "registered": True,
    "否": False,
    "流动": False,
    "流动人口": False,
    "非户籍": False,
    "no": False,
    "n": False,
    "false": False,
    "0": False,
    "floating": False,
}
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")


class CellError(ValueError):
    """A cell whose text is not a value of its column; the message says what is expected."""


def text(value: Any) -> str:
    """A cell as text: numbers from Excel lose their ``.0``, text is stripped."""
    if value.__class__ is str:  # nearly every cell: CSV has nothing else
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


def _key(value: Any) -> str:
    return unicodedata.normalize("NFKC", text(value)).strip().lower().replace(" ", "_")


def parse_gender(value: Any) -> str | None:
    if value.__class__ is str and value in _GENDERS:  # the common spellings, as written
        return _GENDERS[value]
    key = _key(value)
    if not key:
        return None
    try:
        return _GENDERS[key]
    except KeyError:
        raise CellError(
            _("unknown gender “%(value)s”: use 男/女 or male/female") % {"value": text(value)}
        ) from None


def parse_relation(value: Any) -> str | None:
    if value.__class__ is str and value in _RELATIONS:  # the common spellings, as written
        return str(_RELATIONS[value])
    key = _key(value)
    if not key:
        return None
    try:
        return str(_RELATIONS[key])
    except KeyError:
        raise CellError(
            _(
                "unknown relation “%(value)s”: use 户主/业主 (owner), 家属 (owner_family), "
                "租户/承租人 (tenant) or 其他 (other)"
            )
            % {"value": text(value)}
        ) from None


def parse_registered(value: Any) -> bool | None:
    if value.__class__ is str and value in _REGISTERED:  # the common spellings, as written
        return _REGISTERED[value]
    key = _key(value)
    if not key:
        return None
    try:
        return _REGISTERED[key]
    except KeyError:
        raise CellError(
            _("“%(value)s” is not 户籍/流动 (registered or not): use 是/否 or yes/no")
            % {"value": text(value)}
        ) from None


def parse_date(value: Any) -> date | None:
    """Dates as Excel stores them, or as text: 2024-03-01, 2024/3/1, 2024.3.1, 2024年3月1日,
    20240301."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = text(value)
    if not raw:
        return None
    return _parse_date_text(raw)


@functools.lru_cache(maxsize=65536)
def _parse_date_text(raw: str) -> date:
    # Memoised: a file's dates repeat (birth dates, move-in days); errors are not cached.
    raw = unicodedata.normalize("NFKC", raw)
    match = _DATE.fullmatch(raw) or _COMPACT_DATE.fullmatch(raw)
    if match is None:
        raise CellError(_("“%(value)s” is not a date: use YYYY-MM-DD") % {"value": raw})
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise CellError(_("“%(value)s” is not a possible date") % {"value": raw}) from None


def parse_id_text(value: Any) -> str:
    """The ID number's text. Excel turns a long digit string typed into a number cell into a
    float that has lost its last digits; that is reported rather than checked."""
    if isinstance(value, float) or (isinstance(value, int) and value >= 10**15):
        raise CellError(
            _(
                "the ID number was stored as a number, and Excel keeps only 15 digits; format "
                "the column as text and type the numbers again"
            )
        )
    return text(value)
