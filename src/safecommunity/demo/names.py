"""Plausible Chinese place names for the demo city, drawn from fixed pools.

Person names come from Faker ``zh_CN``; place names are built here from characters and
suffixes Tianjin actually uses (roads named after provinces and cities, ending in 路/道/街),
so every run with the same seed gives the same names.
"""

from __future__ import annotations

from random import Random

# Characters that read well in pairs as subdistrict, community, compound and village names.
_NAME_CHARS = (
    "万兴学府向阳长虹华苑嘉陵鼓楼体育中山民权东西南北金星光明新丽园春秋锦绣天塔水上龙凤"
    "祥瑞宁安康泰和平福德仁义顺昌盛荣富贵清泉松柏桃李梅兰竹菊宜宾云霞海河滨江湖汇文昌林"
)
_VILLAGE_PREFIXES = ("大", "小", "前", "后", "东", "西", "南", "北", "上", "下", "新", "老")
_VILLAGE_SUFFIXES = ("庄", "营", "屯", "店", "口", "坨", "沽", "堡", "寨", "洼", "场", "桥")
_ROAD_STEMS = (
    "南京 成都 重庆 贵州 云南 西安 长沙 湖北 河南 山西 陕西 黄河 长江 卫津 白堤 复康 鞍山 "
    "宾水 红旗 密云 昆明 大沽 洞庭 睦南 马场 常德 大理 桂林 郑州 芷江 岳阳 衡阳 福州 汕头 "
    "广东 营口 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 湖南 四川 青海 甘肃 宁夏 新疆 "
    "西藏 内江 泰安 烟台 锦州 丹东 沈阳 哈尔滨 齐齐哈尔 承德 保定 张家口 唐山 秦皇岛 沧州"
).split()
_ROAD_SUFFIXES = ("路", "道", "道", "路", "大街", "支路")
_COMPOUND_SUFFIXES = ("花园", "小区", "里", "家园", "新苑", "公寓", "雅园", "嘉园", "新村", "名邸")
_NUMERALS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 12 → 十二, 20 → 二十, 35 → 三十五 (enough for grid and row numbers)."""
    if n < 10:
        return _NUMERALS[n]
    tens, ones = divmod(n, 10)
    head = "" if tens == 1 else _NUMERALS[tens]
    return head + "十" + (_NUMERALS[ones] if ones else "")


class NamePool:
    """Unique names within one scope (a district, a subdistrict, a grid)."""

    def __init__(self, rng: Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def _unique(self, make: str, suffix: str) -> str:
        for _ in range(200):
            name = make + suffix
            if name not in self._used:
                self._used.add(name)
                return name
            make = self._pair()
        # Pools are large compared with any one scope; a number keeps the name unique anyway.
        name = f"{make}{len(self._used)}{suffix}"
        self._used.add(name)
        return name

    def _pair(self) -> str:
        return "".join(self._rng.sample(_NAME_CHARS, 2))

    def place(self, suffix: str) -> str:
        return self._unique(self._pair(), suffix)

    def village(self) -> str:
        rng = self._rng
        stem = (
            rng.choice(_VILLAGE_PREFIXES) + rng.choice(_NAME_CHARS) + rng.choice(_VILLAGE_SUFFIXES)
        )
        return self._unique(stem, "村")

    def compound(self) -> str:
        return self._unique(self._pair(), self._rng.choice(_COMPOUND_SUFFIXES))


def roads(rng: Random, n: int) -> list[str]:
    """``n`` distinct road names for one subdistrict."""
    names: set[str] = set()
    while len(names) < n:
        names.add(rng.choice(_ROAD_STEMS) + rng.choice(_ROAD_SUFFIXES))
    return sorted(names)


def short_name(division_name: str) -> str:
    """万兴街道 → 万兴, 杨柳青镇 → 杨柳青 (for station names)."""
    for suffix in ("街道", "镇", "乡"):
        if division_name.endswith(suffix):
            return division_name[: -len(suffix)]
    return division_name
