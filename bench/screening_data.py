"""A generated Chinese population and a risk list with realistic errors, for the screening
benchmarks (issue 5). Deterministic (one seed), vectorised with NumPy and Arrow, written to
Parquet in a data folder (default ``$TMPDIR/sc_screening/<n>``; ``--reuse`` keeps what is
there when it was made with the same parameters).

    .venv/bin/python bench/screening_data.py --residents 1000000
    .venv/bin/python bench/screening_data.py --residents 14000000 --reuse

**The population** (``population.parquet``, plaintext, for Splink and for the truth; and
``registry.parquet``, the same people in the engine's ``REGISTRY_COLUMNS``: blind indexes and
masked forms instead of numbers, pinyin, path):

- Surnames from a frequency table of the 300 most common Chinese surnames (王 7.12 %, 李 7.00 %,
  张 6.74 %, 刘 5.10 %, 陈 4.61 % … from the 2020 national ranking for the first hundred, a
  power-law tail for the next two hundred).
- Given names: common whole given names at their real shares (伟 0.63 % of men, 芳 0.58 % of
  women, 秀英, 建国 …, so there are as many 张伟 as in life: about 0.02 % of everyone), else
  one or two characters from sex-specific pools of a few hundred characters with a skewed
  (Zipf) distribution; older people more often have one character.
- Birth years 1930–2023 shaped like Tianjin's age pyramid; 51 % men.
- ID numbers (GB 11643): the region code of the person's district (as it was at their birth:
  ``demo.identities.region_for``), or for a quarter of the people (born elsewhere) a code from
  Beijing, Hebei, Shandong, Henan, the north-east …; the birth date; a sequence unique within
  (region, birth date, sex) whose parity is the sex; the ISO 7064 MOD 11-2 check digit.
  Unique, and valid for ``people.identity.parse_id_number``.
- Mobile numbers ``1[3-9]`` + 9 digits from real prefixes, unique.
- Households of 1–5 people sharing a dwelling (most members sharing the surname), dwellings
  in compounds of Tianjin's 16 districts weighted by their population, standard addresses like
  ``天津市和平区劝业场街道长兴里12号楼3门301``; ``path`` ``12.01.DD.SSS.CCC.GGG``.
- Blind indexes exactly as ``safecommunity.people.identity.blind_index`` computes them
  (HMAC-SHA256 under the bench key of ``benchsetup``, ``"id:"``/``"phone:"`` prefix, first 16
  bytes in hex), computed in DuckDB.

**The risk list** (``risk.parquet``: ``rec``, ``name``, ``id_number``, ``phone``, ``birth``,
``gender``, ``address`` as a file would give them: full-width digits included; ``truth.parquet``:
``rec``, ``rid`` for the records drawn from residents; ``errors.parquet``: per record the
errors it carries). 80 % of the records are residents drawn without replacement; 20 % are
people not in the registry, of whom half share a resident's name, sex and birth year (and 2 %
of those the whole birth date too: about 200 records, more than chance gives even at 14 million
residents, ~0.4 % of outsiders) — the hard negatives. Errors, drawn independently per field
(the kinds within a field exclusive), on every record; an error that cannot be made (no
homophone in the table, no traditional form, a swap that is no valid other date) is left out,
so the realised counts, which ``describe`` prints, are a little lower than these rates:

- ID number: missing 30 %, one digit changed 5 %, two adjacent digits transposed 5 %.
- Phone: missing 25 %, a different number 10 %, one digit changed 5 %, two adjacent digits
  transposed 5 %.
- Name: one given-name character replaced by a homophone (same toneless pinyin: 伟→玮,
  静→晶, 丽→莉, 军→君) 15 %, by a random other character 3 %, written in traditional characters
  (张伟→張偉 / 张偉) 5 %.
- Birth date: day and month swapped 3 % (when that is a different valid date), missing 5 %,
  one digit changed 2 % (when that gives a valid date).
- Gender missing 5 %.
- Address: moved to another dwelling 20 %, missing 20 %, abbreviated (``天津市`` or
  ``天津市XX区`` dropped) 20 %.
- Full-width digits (``１２０１…``) in 2 % of the IDs and 2 % of the phones present.
"""

# SQL here is built from our own file paths and fixed names, never from input.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from benchsetup import BENCH_KEYS

SEED = 2022
VERSION = 5  # bump when the data changes, so --reuse regenerates
RISK_RECORDS = 100_000
RESIDENT_SHARE = 0.8
CHUNK = 1_000_000
EPOCH = np.datetime64("1970-01-01")

# --- error rates (stated in the module docstring) ----------------------------------------------
ID_ERRORS = {"missing": 0.30, "digit": 0.05, "transposed": 0.05}
PHONE_ERRORS = {"missing": 0.25, "changed": 0.10, "digit": 0.05, "transposed": 0.05}
NAME_ERRORS = {"homophone": 0.15, "random_char": 0.03, "traditional": 0.05}
BIRTH_ERRORS = {"swapped": 0.03, "missing": 0.05, "digit": 0.02}
GENDER_ERRORS = {"missing": 0.05}
ADDRESS_ERRORS = {"moved": 0.20, "missing": 0.20, "abbreviated": 0.20}
FULLWIDTH_RATE = 0.02
HARD_NEGATIVE_SHARE = 0.5  # of the non-residents: a resident's name, sex and birth year
SAME_DATE_SHARE = 0.02  # of those: the whole birth date too (natural rate at 14M: ~0.4 %)

# --- the blind index ---------------------------------------------------------------------------

BLIND_KEY = base64.urlsafe_b64decode(BENCH_KEYS["BLIND_INDEX_KEY"])


def _halves(prefix: bytes) -> tuple[Any, Any]:
    # ``people.identity.hmac_halves``: HMAC-SHA256 as its inner and outer hash.
    key = BLIND_KEY.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key) + prefix)
    return inner, hashlib.sha256(bytes(b ^ 0x5C for b in key))


_PREPARED = {p: _halves(f"{p}:".encode()) for p in ("id", "phone")}


def blind(value: str, purpose: str) -> str:
    """``people.identity.blind_index`` under the bench key, without Django."""
    halves = _PREPARED[purpose]
    inner, outer = halves[0].copy(), halves[1].copy()
    inner.update(value.encode())
    outer.update(inner.digest())
    return outer.digest()[:16].hex()


def _hmac_pads() -> tuple[bytes, bytes]:
    key = BLIND_KEY.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def blind_column(values: pa.Array, purpose: str) -> pa.Array:
    """The blind index of every value (nulls stay null), HMAC-SHA256 spelled out in DuckDB:
    ``sha256(key^opad || sha256(key^ipad || message))``, on both cores."""
    import duckdb

    ipad, opad = _hmac_pads()
    con = duckdb.connect()
    con.register("v", pa.table({"v": values}))
    sql = (
        "SELECT substr(sha256($opad || unhex(sha256($ipad || ($prefix || v)::BLOB))), 1, 32) FROM v"
    )
    params = {"ipad": ipad, "opad": opad, "prefix": f"{purpose}:"}
    out = con.sql(sql, params=params).to_arrow_table()
    con.close()
    column = out.column(0)
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


# --- names -------------------------------------------------------------------------------------

# The hundred most common surnames with their share in percent (2020 ranking), then two
# hundred more in order of frequency: their shares follow a power law below the hundredth.
_TOP_SURNAMES = (
    "王7.12 李7.00 张6.74 刘5.10 陈4.61 杨3.22 黄2.45 赵2.19 吴2.08 周1.91 徐1.75 孙1.55 马1.51 "
    "朱1.39 胡1.31 郭1.23 何1.18 林1.15 高1.11 罗1.08 郑0.99 梁0.96 谢0.88 宋0.83 唐0.81 许0.76 "
    "韩0.75 冯0.71 邓0.69 曹0.68 彭0.66 曾0.62 肖0.60 田0.59 董0.56 潘0.53 袁0.52 蔡0.51 蒋0.50 "
    "余0.49 于0.48 杜0.47 叶0.46 程0.45 魏0.43 苏0.42 吕0.41 丁0.40 任0.39 卢0.38 姚0.37 沈0.36 "
    "钟0.35 姜0.35 崔0.34 谭0.33 陆0.32 范0.31 汪0.31 廖0.30 石0.30 金0.29 韦0.28 贾0.28 夏0.27 "
    "付0.27 方0.26 邹0.25 熊0.25 白0.25 孟0.24 秦0.24 邱0.23 侯0.23 江0.22 尹0.22 薛0.21 闫0.21 "
    "段0.20 雷0.20 龙0.19 黎0.19 史0.19 陶0.18 贺0.18 毛0.17 郝0.17 顾0.17 龚0.16 邵0.16 万0.16 "
    "覃0.15 武0.15 钱0.15 戴0.15 严0.14 莫0.14 孔0.14 向0.14 常0.13 汤0.13"
)
_MORE_SURNAMES = (
    "易 乔 赖 文 庞 樊 兰 殷 施 洪 翟 安 颜 倪 牛 温 芦 季 俞 章 鲁 葛 伍 申 尤 毕 聂 丛 焦 柳 "
    "邢 路 岳 齐 梅 庄 辛 管 祝 左 涂 谷 祁 时 舒 耿 牟 卜 詹 关 苗 凌 费 纪 靳 盛 童 欧 甄 项 曲 "
    "成 游 阳 裴 席 卫 查 屈 鲍 位 霍 翁 隋 植 甘 景 薄 单 包 司 柏 宁 柯 阮 桂 闵 欧阳 解 强 "
    "柴 华 车 冉 房 边 辜 吉 饶 刁 瞿 戚 丘 古 米 池 滕 晋 苑 邬 臧 畅 宫 来 苟 全 褚 廉 简 娄 "
    "盖 符 奚 木 穆 党 燕 郎 邸 冀 谈 姬 屠 连 郜 晏 栾 郁 商 蒙 计 喻 揭 窦 迟 宇 敖 糜 鄢 冷 "
    "卓 花 仇 艾 蓝 都 巩 嵇 井 练 仲 乐 虞 卞 封 竺 冼 原 官 衣 楚 佟 栗 匡 宗 应 台 巫 鞠 桑 "
    "荆 谌 银 扬 明 沙 伏 岑 习 胥 保 和 蔺 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 司徒 南宫"
)
# Surnames read differently as surnames than pypinyin reads them alone (as in people.names).
SURNAME_READINGS = {
    "曾": "zeng", "单": "shan", "解": "xie", "区": "ou", "仇": "qiu", "朴": "piao",
    "查": "zha", "盖": "ge", "缪": "miao", "覃": "qin", "种": "chong", "乐": "yue",
    "尉迟": "yu chi", "繁": "po", "长": "chang", "万": "wan", "秘": "bi", "员": "yun",
    "翟": "zhai", "召": "shao", "柏": "bai", "薄": "bo", "燕": "yan", "宁": "ning",
}  # fmt: skip

# Whole given names at their share among men / women, in percent.
_POPULAR_MALE = (
    "伟0.63 强0.42 磊0.40 军0.37 勇0.36 杰0.33 涛0.31 明0.29 超0.28 刚0.27 平0.25 辉0.25 鹏0.22 "
    "洋0.22 斌0.20 波0.20 建华0.20 建国0.18 建军0.18 志强0.16 宇0.15 浩0.15 凯0.14 亮0.14 "
    "峰0.14 海燕0.05 春生0.08 国强0.10 文华0.08 建平0.10"
)
_POPULAR_FEMALE = (
    "芳0.58 娜0.51 秀英0.50 敏0.48 静0.48 丽0.42 艳0.37 娟0.34 霞0.30 秀兰0.29 燕0.28 桂英0.25 "
    "玲0.25 丹0.22 萍0.22 红0.22 玉兰0.20 桂兰0.20 梅0.20 莉0.18 婷0.18 秀珍0.16 玉梅0.14 "
    "淑珍0.12 丽娟0.12 海燕0.15 红霞0.12 丽华0.10 秀梅0.10 淑兰0.08"
)
# Given-name characters by sex and place (the first of two, or the second or only one), most
# used first: their draw follows a Zipf law on this order.
_MALE_FIRST = (
    "建志国永德文海春晓明俊子浩宇天家嘉一思博振学庆长金立红新卫玉世光鹏伟中宏少云雨泽梓昊晨"
    "耀鸿兴福跃承景"
)
_MALE_SECOND = (
    "华强明军平伟杰勇斌峰刚辉涛波飞龙林鹏东成亮宇轩然超磊鑫航博睿阳凯健俊帆帅旭宁岩彬坤兵雷"
    "生祥忠义良顺毅锋武哲铭翔荣元泉力胜治贵友洪山江海新民发达远豪威森晖琦瑜栋骏驰奇"
)
_FEMALE_FIRST = "秀玉桂淑丽美晓海春红雪欣思雨梓子佳嘉一诗梦若紫静慧文小金凤月彩翠艳婉安可"
_FEMALE_SECOND = (
    "英兰芳华珍梅霞燕玲红娟琴萍敏静婷丽娜艳莉琳颖倩雪涵萱怡欣悦瑶妍彤菲琪蕾薇璐媛洁冰月凤露"
    "雯婧莹珊蓉君荣萌瑾璇曼蕊芬茹雅娇妮巧婉娅霏馨晴爽楠秋翠"
)
# Common characters that are not in the name pools: the other side of a homophone (伟→玮),
# a random typing error, the candidates an input method offers.
_EXTRA_CHARS = (
    "玮炜苇维唯惟巍蔚微威为位卫韦未味尾委晶京经精菁敬境竞净靖镜井景警径利力立历励黎理李礼"
    "俐丽栗均钧郡骏峻竣珺分纷奋粉垒泪类累纳那钠墙蔷抢枪墙雁彦岩颜延言演宴研眼堰单担胆旦诞"
    "捷节结洁街借界姐滔韬桃逃陶讨套民闽珉皿悯抿名鸣铭茗冥命汪望旺往网忘王万晚湾完玩丸刚港岗"
    "纲缸钢辉徽灰挥恢会汇慧惠绘彗鹏朋彭蓬捧棚芃平评凭萍苹屏坪瓶华花化划话画桦骅滑猾波播伯"
    "博勃泊柏薄斌宾彬滨冰兵饼秉炳丙并病宇雨语羽玉育与予雨余鱼娱愉渝榆虞于浩好号豪皓昊郝颢"
    "耗凯楷开慨恺铠健建剑见件箭舰坚间简俊君军均菌竣峻骏帆凡烦繁反返范饭泛帅率蟀旭序叙绪续"
    "蓄絮许徐虚需宁凝柠拧狞龙隆笼聋陇林临琳霖麟淋邻磷阳杨洋扬羊仰样养痒亮量良凉梁粮两辆晾"
    "成城诚承程乘呈橙丞峰锋风封丰枫疯蜂讽奉凤缝国果过郭锅裹志智治致至制质知织芝之支枝晨辰"
    "尘陈沉臣忱瑞锐睿蕊芮兵冰秉饼雷蕾磊类泪擂东冬董懂动洞栋冻岩延研言颜艳焰燕文问闻稳纹雯"
    "玟海害还孩亥江将姜浆疆讲奖酱山杉衫珊删闪善扇春纯淳唇蠢新心欣馨薪芯信辛锌永勇涌泳咏用"
    "德得的地底弟帝第递宏洪红虹鸿弘泓光广逛福富付傅复夫扶服浮符生声升胜圣盛省祥香乡相想向"
    "象项巷翔金今津斤锦进近晋劲清青轻情晴庆请学雪穴血薛忠中钟终种众重振镇震阵针珍真贞"
)
# Simplified → traditional for the characters of names that have one.
_TRADITIONAL = (
    "伟偉 华華 军軍 丽麗 红紅 兰蘭 凤鳳 龙龍 东東 国國 庆慶 贵貴 宝寶 荣榮 杰傑 涛濤 刚剛 辉輝 "
    "鹏鵬 飞飛 宁寧 帅帥 阳陽 凯凱 强強 欢歡 静靜 艳艷 颖穎 洁潔 兴興 学學 义義 顺順 长長 云雲 "
    "张張 陈陳 刘劉 杨楊 黄黃 赵趙 吴吳 孙孫 马馬 郑鄭 罗羅 谢謝 许許 韩韓 冯馮 邓鄧 蒋蔣 叶葉 "
    "苏蘇 吕呂 卢盧 钟鍾 谭譚 陆陸 韦韋 贾賈 邹鄒 闫閆 贺賀 顾顧 龚龔 万萬 钱錢 严嚴 汤湯 "
    "丰豐 发發 达達 远遠 鸿鴻 钢鋼 铁鐵 鹤鶴 晖暉 胜勝 广廣 为為 树樹 岚嵐 琼瓊 莹瑩 锋鋒 "
    "峰峯 梦夢 诗詩 馨馨 凤鳳 爱愛 秀秀 娟娟 丹丹 玲玲 燕燕 霞霞 敏敏 铭銘 骏駿 驰馳 栋棟 "
    "恒恆 满滿 鑫鑫 韬韜 钧鈞 纹紋 虹虹 纯純 锦錦 进進 劲勁 庆慶 亮亮 梁樑 丽麗 颜顏 岩巖"
)

# Real mobile prefixes (China Mobile, Unicom, Telecom).
_PHONE_PREFIXES = np.array(
    [130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 145, 147, 150, 151, 152, 153, 155, 156, 157,
     158, 159, 166, 173, 175, 176, 177, 178, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189,
     191, 198, 199],
    dtype=np.int64,
)  # fmt: skip


def _weighted(spec: str) -> tuple[list[str], np.ndarray]:
    names, weights = [], []
    for item in spec.split():
        head = item.rstrip("0123456789.")
        names.append(head)
        weights.append(float(item[len(head) :]))
    return names, np.array(weights)


def _unique(chars: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(c for c in chars if not c.isspace()))


@dataclass(frozen=True)
class Names:
    """The character and name tables, with their pinyin (one pypinyin call per character)."""

    surnames: list[str]
    surname_p: np.ndarray  # probabilities
    surname_trad: list[str]
    surname_pinyin: list[str]
    chars: list[str]  # every character a given name or an error can hold
    char_pinyin: list[str]
    char_trad: np.ndarray  # index of the traditional form in ``chars``, or -1
    pools: dict[tuple[bool, int], tuple[np.ndarray, np.ndarray]]  # (male, place) → chars, p
    popular_male: list[tuple[int, int]]  # (char, char or -1)
    popular_male_p: np.ndarray  # share of men
    popular_female: list[tuple[int, int]]
    popular_female_p: np.ndarray
    homophones: np.ndarray  # CSR: candidates of chars[i] = homo_idx[homo_ptr[i]:homo_ptr[i+1]]
    homophone_ptr: np.ndarray


@lru_cache(maxsize=1)
def names_tables() -> Names:
    from pypinyin import Style, lazy_pinyin

    top, top_w = _weighted(_TOP_SURNAMES)
    more = [s for s in _unique(_MORE_SURNAMES.split()) if s not in top]
    ranks = np.arange(len(top) + 1, len(top) + 1 + len(more))
    more_w = top_w[-1] * (len(top) / ranks) ** 1.3
    surnames = top + more
    surname_w = np.concatenate([top_w, more_w])
    trad_pairs = dict(p for p in (tuple(x) for x in _TRADITIONAL.split()) if p[0] != p[1])

    def syllables(text: str) -> str:
        return " ".join(
            "".join(ch for ch in s.lower() if "a" <= ch <= "z")
            for s in lazy_pinyin(text, style=Style.NORMAL)
        )

    surname_pinyin = [SURNAME_READINGS.get(s) or syllables(s) for s in surnames]
    surname_trad = ["".join(trad_pairs.get(c, c) for c in s) for s in surnames]

    male_names, male_w = _weighted(_POPULAR_MALE)
    female_names, female_w = _weighted(_POPULAR_FEMALE)
    # The one-character pool draws add to the popular one-character names: the table's
    # shares are scaled down so the totals land near the real ones (张伟 ≈ 0.021 %).
    male_w, female_w = male_w * 0.7, female_w * 0.7
    pool_chars = {
        (True, 1): _unique(_MALE_FIRST),
        (True, 2): _unique(_MALE_SECOND),
        (False, 1): _unique(_FEMALE_FIRST),
        (False, 2): _unique(_FEMALE_SECOND),
    }
    chars = _unique(
        [*"".join("".join(c) for c in pool_chars.values()), *"".join(male_names + female_names),
         *_EXTRA_CHARS]
    )  # fmt: skip
    chars += [t for t in dict.fromkeys(trad_pairs.values()) if t not in chars]
    index = {c: i for i, c in enumerate(chars)}
    char_pinyin = [syllables(c) for c in chars]
    char_trad = np.array([index.get(trad_pairs.get(c, ""), -1) for c in chars], dtype=np.int32)

    def pool(pool_chars: list[str]) -> tuple[np.ndarray, np.ndarray]:
        idx = np.array([index[c] for c in pool_chars], dtype=np.int32)
        w = 1.0 / (np.arange(len(idx)) + 8.0) ** 0.8
        return idx, w / w.sum()

    def whole(names: list[str]) -> list[tuple[int, int]]:
        return [(index[n[0]], index[n[1]] if len(n) > 1 else -1) for n in names]

    # Homophones: candidates sharing the toneless syllable, simplified characters only
    # (a traditional form is its own kind of error). Common characters come first in the
    # table, so they are the ones offered.
    traditional = set(trad_pairs.values())
    by_syllable: dict[str, list[int]] = {}
    for i, (c, p) in enumerate(zip(chars, char_pinyin, strict=True)):
        if c not in traditional:
            by_syllable.setdefault(p, []).append(i)
    ptr, cand = [0], []
    for i, p in enumerate(char_pinyin):
        cand.extend(j for j in by_syllable.get(p, []) if j != i)
        ptr.append(len(cand))
    return Names(
        surnames=surnames,
        surname_p=surname_w / surname_w.sum(),
        surname_trad=surname_trad,
        surname_pinyin=surname_pinyin,
        chars=chars,
        char_pinyin=char_pinyin,
        char_trad=char_trad,
        pools={key: pool(value) for key, value in pool_chars.items()},
        popular_male=whole(male_names),
        popular_male_p=male_w / 100,
        popular_female=whole(female_names),
        popular_female_p=female_w / 100,
        homophones=np.array(cand, dtype=np.int32),
        homophone_ptr=np.array(ptr, dtype=np.int64),
    )


def pinyin_of(names: Sequence[str | None]) -> list[str | None]:
    """Toneless syllables separated by spaces, the way the population's pinyin was made (the
    character table, surname readings first): for the risk list's names on Splink's side."""
    from pypinyin import Style, lazy_pinyin

    tables = names_tables()
    char_py = dict(zip(tables.chars, tables.char_pinyin, strict=True))
    surname_py = dict(zip(tables.surnames, tables.surname_pinyin, strict=True))
    surname_py.update(zip(tables.surname_trad, tables.surname_pinyin, strict=True))

    @cache
    def one(name: str) -> str:
        head = 2 if name[:2] in surname_py and len(name) > 2 else 1
        parts = [surname_py.get(name[:head]) or _py(name[:head])]
        parts += [char_py.get(c) or _py(c) for c in name[head:]]
        return " ".join(p for p in parts if p)

    def _py(text: str) -> str:
        return " ".join(
            "".join(ch for ch in s.lower() if "a" <= ch <= "z")
            for s in lazy_pinyin(text, style=Style.NORMAL)
        )

    return [None if n is None else one(n) for n in names]


# --- places ------------------------------------------------------------------------------------

# Tianjin's districts: GB/T 2260 code, name, population (2020 census, ten thousands),
# subdistricts and towns.
DISTRICTS = [
    ("120101", "和平区", 36, "劝业场街道 小白楼街道 五大道街道 新兴街道 南营门街道 南市街道"),
    ("120102", "河东区", 86, "大王庄街道 大直沽街道 中山门街道 富民路街道 二号桥街道 春华街道 "
     "唐家口街道 向阳楼街道 常州道街道 上杭路街道 东新街道 鲁山道街道 天铁街道"),
    ("120103", "河西区", 82, "大营门街道 下瓦房街道 桃园街道 挂甲寺街道 马场街道 越秀路街道 "
     "友谊路街道 天塔街道 尖山街道 陈塘庄街道 柳林街道 东海街道 梅江街道 太湖路街道"),
    ("120104", "南开区", 89, "长虹街道 鼓楼街道 兴南街道 广开街道 万兴街道 学府街道 向阳路街道 "
     "嘉陵道街道 王顶堤街道 水上公园街道 体育中心街道 华苑街道"),
    ("120105", "河北区", 65, "光复道街道 望海楼街道 鸿顺里街道 新开河街道 铁东路街道 建昌道街道 "
     "宁园街道 王串场街道 江都路街道 月牙河街道"),
    ("120106", "红桥区", 48, "西于庄街道 丁字沽街道 西沽街道 三条石街道 邵公庄街道 芥园街道 "
     "铃铛阁街道 和苑街道 咸阳北路街道 大胡同街道"),
    ("120110", "东丽区", 86, "张贵庄街道 丰年村街道 万新街道 无瑕街道 新立街道 华明街道 金钟街道 "
     "军粮城街道 金桥街道 华新街道 东丽湖街道"),
    ("120111", "西青区", 120, "西营门街道 李七庄街道 杨柳青镇 中北镇 精武镇 大寺镇 王稳庄镇 "
     "张家窝镇 辛口镇 赤龙南街道 大寺新苑街道"),
    ("120112", "津南区", 93, "双新街道 双林街道 咸水沽镇 葛沽镇 小站镇 双港镇 辛庄镇 八里台镇 "
     "北闸口镇 海棠街道 雅润路街道"),
    ("120113", "北辰区", 91, "果园新村街道 集贤里街道 普东街道 瑞景街道 佳荣里街道 青源街道 "
     "天穆镇 北仓镇 双街镇 双口镇 青光镇 宜兴埠镇 小淀镇 大张庄镇 西堤头镇"),
    ("120114", "武清区", 115, "杨村街道 下朱庄街道 东蒲洼街道 黄庄街道 徐官屯街道 运河西街道 "
     "崔黄口镇 大良镇 王庆坨镇 汊沽港镇 河西务镇 大王古庄镇 梅厂镇 大碱厂镇"),
    ("120115", "宝坻区", 72, "海滨街道 宝平街道 钰华街道 周良街道 牛道口镇 大口屯镇 口东镇 "
     "霍各庄镇 林亭口镇 新开口镇"),
    ("120116", "滨海新区", 206, "塘沽街道 杭州道街道 新河街道 大沽街道 新北街道 北塘街道 "
     "胡家园街道 新港街道 新村街道 泰达街道 汉沽街道 寨上街道 茶淀街道 大港街道 古林街道 "
     "海滨街道 中塘镇 太平镇 小王庄镇"),
    ("120117", "宁河区", 40, "芦台街道 桥北街道 宁河镇 苗庄镇 丰台镇 岳龙镇 板桥镇 潘庄镇"),
    ("120118", "静海区", 79, "华康街道 朝阳街道 静海镇 唐官屯镇 独流镇 王口镇 台头镇 子牙镇 "
     "陈官屯镇 中旺镇 大邱庄镇"),
    ("120119", "蓟州区", 80, "文昌街道 渔阳镇 洇溜镇 官庄镇 马伸桥镇 下营镇 邦均镇 别山镇 "
     "尤古庄镇 上仓镇 东施古镇 下窝头镇"),
]  # fmt: skip
# Region codes of people born elsewhere (Beijing, Hebei, Shandong, Henan, the north-east …).
OTHER_REGIONS = (
    "110101 110102 110105 110108 130102 130104 130105 130203 130302 130402 130602 130902 "
    "131002 370102 370202 410102 230102 210102 150102 220102 320102 340102 140105"
).split()
OTHER_SHARE = 0.25
_COMPOUND_CHARS = (
    "万兴学府向阳长虹华苑嘉陵鼓楼体育中山民权东西南北金星光明新丽园春秋锦绣天塔水上龙凤祥瑞宁"
    "安康泰和平福德仁义顺昌盛荣富贵清泉松柏桃李梅兰竹菊宜宾云霞海河滨江湖汇文昌林"
)
_COMPOUND_SUFFIXES = ("里", "里", "小区", "花园", "家园", "新村", "公寓", "新苑", "嘉园", "大厦")


@dataclass(frozen=True)
class Places:
    district: np.ndarray  # per compound: index into DISTRICTS
    subdistrict: np.ndarray  # per compound: index into subdistrict_names
    subdistrict_no: np.ndarray  # per compound: number of the subdistrict within its district
    compound_name: list[str]
    buildings: np.ndarray
    units: np.ndarray
    floors: np.ndarray
    rooms: np.ndarray
    subdistrict_names: list[str]


def make_places(rng: np.random.Generator, people: int) -> Places:
    """Compounds spread over subdistricts in proportion to the districts' populations."""
    count = max(60, people // 1200)
    sub_names: list[str] = []
    sub_district: list[int] = []
    sub_no: list[int] = []
    sub_weight: list[float] = []
    for i, (_code, _name, people_k, subs) in enumerate(DISTRICTS):
        parts = subs.split()
        for j, s in enumerate(parts):
            sub_names.append(s)
            sub_district.append(i)
            sub_no.append(j + 1)
            sub_weight.append(people_k / len(parts))
    w = np.array(sub_weight)
    subdistrict = rng.choice(len(sub_names), size=count, p=w / w.sum())
    chars = list(_COMPOUND_CHARS)
    a = rng.integers(0, len(chars), count)
    b = rng.integers(0, len(chars), count)
    suffix = rng.integers(0, len(_COMPOUND_SUFFIXES), count)
    names = [
        chars[x] + chars[y] + _COMPOUND_SUFFIXES[s] for x, y, s in zip(a, b, suffix, strict=True)
    ]
    old = rng.random(count) < 0.5  # old compounds: low-rise, few buildings of many units
    return Places(
        district=np.array(sub_district)[subdistrict],
        subdistrict=subdistrict,
        subdistrict_no=np.array(sub_no)[subdistrict],
        compound_name=names,
        buildings=rng.integers(4, 41, count),
        units=np.where(old, rng.integers(2, 7, count), rng.integers(1, 4, count)),
        floors=np.where(old, rng.integers(5, 8, count), rng.integers(11, 34, count)),
        rooms=rng.integers(2, 5, count),
        subdistrict_names=sub_names,
    )


# --- people ------------------------------------------------------------------------------------


def _birth_year_weights() -> tuple[np.ndarray, np.ndarray]:
    years = np.arange(1930, 2024)
    knots = [(1930, 0.3), (1940, 0.6), (1950, 1.0), (1961, 1.1), (1962, 1.6), (1975, 1.6),
             (1976, 1.3), (1985, 1.3), (1986, 1.5), (1991, 1.5), (1992, 1.1), (1999, 1.1),
             (2000, 0.9), (2010, 0.9), (2011, 1.0), (2017, 1.0), (2018, 0.7), (2023, 0.6)]  # fmt: skip
    w = np.interp(years, [k[0] for k in knots], [k[1] for k in knots])
    return years, w / w.sum()


@dataclass
class People:
    """One row per person, as integers; strings are made a chunk at a time."""

    male: np.ndarray  # bool
    birth: np.ndarray  # int32 days since 1970-01-01
    surname: np.ndarray  # int16 into Names.surnames
    g1: np.ndarray  # int16 into Names.chars
    g2: np.ndarray  # int16, -1 for none
    compound: np.ndarray  # int32 into Places
    building: np.ndarray  # int16 (per household, repeated per member)
    unit: np.ndarray
    floor: np.ndarray
    room: np.ndarray
    region: np.ndarray  # int32 region code (120104)
    sequence: np.ndarray  # int16, 0–999, parity = sex
    phone: np.ndarray  # int64

    def take(self, idx: np.ndarray) -> People:
        return People(**{k: v[idx] for k, v in vars(self).items()})


def _draw_given(
    rng: np.random.Generator, male: np.ndarray, year: np.ndarray, t: Names
) -> tuple[np.ndarray, np.ndarray]:
    n = male.size
    g1 = np.empty(n, dtype=np.int16)
    g2 = np.full(n, -1, dtype=np.int16)
    for is_male in (True, False):
        who = np.flatnonzero(male == is_male)
        m = who.size
        popular = t.popular_male if is_male else t.popular_female
        popular_p = t.popular_male_p if is_male else t.popular_female_p
        pool1, p1 = t.pools[is_male, 1]
        pool2, p2 = t.pools[is_male, 2]
        # Common names are commoner among older people; so are one-character names.
        age_factor = np.clip((2010 - year[who]) / 40.0, 0.4, 1.6)
        u = rng.random(m)
        pick = np.searchsorted(np.cumsum(popular_p), u / age_factor)
        is_popular = pick < len(popular)
        single_p = np.clip(0.05 + 0.25 * age_factor, 0.08, 0.40) * 0.5
        single = ~is_popular & (rng.random(m) < single_p)
        flat = p2**0.5 / (p2**0.5).sum()  # one-character names spread wider
        first = np.where(
            single, pool2[rng.choice(pool2.size, m, p=flat)], pool1[rng.choice(pool1.size, m, p=p1)]
        )
        second = pool2[rng.choice(pool2.size, m, p=p2)]
        pop_arr = np.array(popular, dtype=np.int16)
        safe = np.minimum(pick, len(popular) - 1)
        a = np.where(is_popular, pop_arr[safe, 0], first)
        b = np.where(is_popular, pop_arr[safe, 1], np.where(single, -1, second))
        # A doubled character (丽丽) is fine; the same character as the second only by chance.
        g1[who] = a
        g2[who] = b
    return g1, g2


def make_people(rng: np.random.Generator, n: int, places: Places, t: Names) -> People:
    """``n`` people in households of 1–5 sharing a dwelling; IDs and phones assigned later."""
    sizes = rng.choice(np.arange(1, 6), size=n // 2 + 10, p=[0.17, 0.31, 0.28, 0.15, 0.09])
    ends = np.cumsum(sizes)
    households = int(np.searchsorted(ends, n)) + 1
    sizes = sizes[:households]
    sizes[-1] -= int(ends[households - 1] - n)
    member_of = np.repeat(np.arange(households), sizes)
    # Compounds weighted by their capacity, dwellings uniform inside.
    capacity = (places.buildings * places.units * places.floors * places.rooms).astype(float)
    compound = rng.choice(capacity.size, size=households, p=capacity / capacity.sum())
    building = rng.integers(0, places.buildings[compound]) + 1
    unit = rng.integers(0, places.units[compound]) + 1
    floor = rng.integers(0, places.floors[compound]) + 1
    room = rng.integers(0, places.rooms[compound]) + 1

    male = rng.random(n) < 0.51
    years, year_p = _birth_year_weights()
    year = rng.choice(years, size=n, p=year_p)
    first_day = (
        np.arange("1930-01-01", "2025-01-01", dtype="datetime64[Y]")
        .astype("datetime64[D]")
        .astype(np.int64)
    )
    length = first_day[year - 1929] - first_day[year - 1930]
    birth = (first_day[year - 1930] + (rng.random(n) * length).astype(np.int64)).astype(np.int32)

    surname_each = rng.choice(len(t.surnames), size=n, p=t.surname_p).astype(np.int16)
    # Most members of a household carry its surname (the head's); spouses keep their own.
    head_surname = surname_each[np.r_[0, np.cumsum(sizes)[:-1]]]
    keep = rng.random(n) < 0.7
    surname = np.where(keep, head_surname[member_of], surname_each).astype(np.int16)
    g1, g2 = _draw_given(rng, male, year, t)
    return People(
        male=male,
        birth=birth,
        surname=surname,
        g1=g1,
        g2=g2,
        compound=compound[member_of].astype(np.int32),
        building=building[member_of].astype(np.int16),
        unit=unit[member_of].astype(np.int8),
        floor=floor[member_of].astype(np.int8),
        room=room[member_of].astype(np.int8),
        region=np.zeros(n, dtype=np.int32),
        sequence=np.zeros(n, dtype=np.int16),
        phone=np.zeros(n, dtype=np.int64),
    )


def assign_identities(rng: np.random.Generator, p: People, places: Places) -> None:
    """Region codes, sequences unique within (region, birth date, sex), unique phones."""
    from safecommunity.demo.identities import _valid_years, region_for

    n = p.male.size
    years = np.arange(1930, 2024)
    year = p.birth.astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970
    # Tianjin's districts: the code in force at birth.
    home = np.array(
        [[int(region_for(code, int(y))) for y in years] for code, *_ in DISTRICTS], dtype=np.int32
    )
    region = home[places.district[p.compound], year - 1930]
    # Born elsewhere: a code valid for the birth year (stdnum's table), cycled to a fixed width.
    width = 64
    other = np.empty((years.size, width), dtype=np.int32)
    for i, y in enumerate(years):
        valid = [int(c) for c in OTHER_REGIONS if any(a <= y <= b for a, b in _valid_years(c))]
        valid = valid or [110101]
        other[i] = np.resize(np.array(valid, dtype=np.int32), width)
    elsewhere = rng.random(n) < OTHER_SHARE
    region = np.where(elsewhere, other[year - 1930, rng.integers(0, width, n)], region)
    # Rank within (region, date, sex) — people are in random order, so a stable sort ranks
    # them at random — shifted by a per-group offset so numbers do not all start at 000.
    key = (region.astype(np.int64) * 80_000 + (p.birth.astype(np.int64) + 30_000)) * 2 + p.male
    order = np.argsort(key, kind="stable")
    sk = key[order]
    starts = np.r_[True, sk[1:] != sk[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - first
    if rank.max() >= 500:
        raise RuntimeError("more than 500 people share a region, birth date and sex")
    offset = (key * 2654435761 >> 7) % 500
    p.sequence = (2 * ((rank + offset) % 500) + p.male).astype(np.int16)
    p.region = region
    p.phone = unique_phones(rng, n)


def unique_phones(rng: np.random.Generator, n: int) -> np.ndarray:
    phone = _PHONE_PREFIXES[rng.integers(0, _PHONE_PREFIXES.size, n)] * 10**8 + rng.integers(
        0, 10**8, n
    )
    while True:
        order = np.argsort(phone, kind="stable")
        sp = phone[order]
        dup = order[1:][sp[1:] == sp[:-1]]
        if dup.size == 0:
            return phone
        phone[dup] = _PHONE_PREFIXES[rng.integers(0, _PHONE_PREFIXES.size, dup.size)] * 10**8 + (
            rng.integers(0, 10**8, dup.size)
        )


# --- strings -----------------------------------------------------------------------------------

_CHECK_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)


def id_numbers(p: People) -> pa.Array:
    """18-character ID numbers, check digit by ISO 7064 MOD 11-2."""
    days = p.birth.astype("datetime64[D]")
    ymd = (
        (days.astype("datetime64[Y]").astype(np.int64) + 1970) * 10_000
        + (days.astype("datetime64[M]").astype(np.int64) % 12 + 1) * 100
        + (days - days.astype("datetime64[M]")).astype(np.int64)
        + 1
    )
    body = (p.region.astype(np.int64) * 10**8 + ymd) * 1000 + p.sequence
    digits = (body[:, None] // 10 ** np.arange(16, -1, -1, dtype=np.int64)) % 10
    check = (12 - (digits @ _CHECK_WEIGHTS) % 11) % 11
    check_char = pa.array(np.array(list("0123456789X"))[check])
    return pc.binary_join_element_wise(pc.cast(pa.array(body), pa.string()), check_char, "")


def _lookup(table: Sequence[str], idx: np.ndarray) -> pa.Array:
    """``table[idx]`` as Arrow strings, null where ``idx`` < 0."""
    values = pa.array(list(table), pa.string())
    return values.take(pa.array(np.where(idx < 0, 0, idx), mask=idx < 0))


def name_parts(
    p: People, t: Names, traditional: np.ndarray | None = None
) -> tuple[pa.Array, pa.Array]:
    """(name, pinyin). ``traditional`` (bool per person, optional): surname written in its
    traditional form (the given characters are replaced beforehand by the caller)."""
    surname = _lookup(t.surnames, p.surname.astype(np.int64))
    if traditional is not None and traditional.any():
        trad = _lookup(t.surname_trad, p.surname.astype(np.int64))
        surname = pc.if_else(pa.array(traditional), trad, surname)
    g1 = _lookup(t.chars, p.g1.astype(np.int64))
    g2 = _lookup(t.chars, p.g2.astype(np.int64))
    name = pc.binary_join_element_wise(surname, g1, g2, "", null_handling="skip")
    pinyin = pc.binary_join_element_wise(
        _lookup(t.surname_pinyin, p.surname.astype(np.int64)),
        _lookup(t.char_pinyin, p.g1.astype(np.int64)),
        _lookup(t.char_pinyin, p.g2.astype(np.int64)),
        " ",
        null_handling="skip",
    )
    return name, pinyin


def addresses(p: People, places: Places, *, prefix: np.ndarray | None = None) -> pa.Array:
    """``天津市和平区劝业场街道长兴里12号楼3门301``; ``prefix`` (0 whole, 1 without 天津市,
    2 without the district as well) abbreviates."""
    n = p.compound.size
    district = places.district[p.compound]
    dname = _lookup([d[1] for d in DISTRICTS], district)
    city = pa.array(np.full(n, "天津市"))
    if prefix is not None:
        city = pc.if_else(pa.array(prefix == 0), city, pa.array(np.full(n, "")))
        dname = pc.if_else(pa.array(prefix < 2), dname, pa.array(np.full(n, "")))
    room = p.floor.astype(np.int64) * 100 + p.room

    def text(v: np.ndarray) -> pa.Array:
        return pc.cast(pa.array(v.astype(np.int64)), pa.string())

    return pc.binary_join_element_wise(
        city,
        dname,
        _lookup(places.subdistrict_names, places.subdistrict[p.compound]),
        _lookup(places.compound_name, p.compound.astype(np.int64)),
        text(p.building),
        pa.array(np.full(n, "号楼")),
        text(p.unit),
        pa.array(np.full(n, "门")),
        text(room),
        "",
    )


def paths(p: People, places: Places) -> pa.Array:
    """``12.01.DD.SSS.CCC.GGG``: district, subdistrict, community (the compound's), grid
    (a few buildings)."""
    district = places.district[p.compound]
    dd = np.array([int(d[0][-2:]) for d in DISTRICTS])[district]
    community = p.compound % 1000
    grid = (p.building.astype(np.int64) - 1) // 5 + 1
    code = ((12_01 * 100 + dd) * 1000 + places.subdistrict_no[p.compound]) * 1000 + community
    code = code * 1000 + grid
    s = pc.cast(pa.array(code.astype(np.int64)), pa.string())
    # 1201DDSSSCCCGGG → 12.01.DD.SSS.CCC.GGG
    return pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(s, 0, 2),
        pc.utf8_slice_codeunits(s, 2, 4),
        pc.utf8_slice_codeunits(s, 4, 6),
        pc.utf8_slice_codeunits(s, 6, 9),
        pc.utf8_slice_codeunits(s, 9, 12),
        pc.utf8_slice_codeunits(s, 12, 15),
        ".",
    )


def _dates(days: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    return pa.array(days.astype(np.int32), pa.date32(), mask=missing)


def _genders(male: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.where(male, "male", "female"), pa.string(), mask=missing)


POPULATION_SCHEMA = pa.schema(
    [("rid", pa.int64()), ("name", pa.string()), ("pinyin", pa.string()),
     ("id_number", pa.string()), ("phone", pa.string()), ("birth", pa.date32()),
     ("gender", pa.string()), ("address", pa.string()), ("path", pa.string())]
)  # fmt: skip
REGISTRY_SCHEMA = pa.schema(
    [("rid", pa.int64()), ("name", pa.string()), ("pinyin", pa.string()),
     ("birth", pa.date32()), ("gender", pa.string()), ("id_key", pa.string()),
     ("id_masked", pa.string()), ("phone_key", pa.string()), ("phone_masked", pa.string()),
     ("address", pa.string()), ("path", pa.string())]
)  # fmt: skip
RISK_SCHEMA = pa.schema(
    [("rec", pa.int64()), ("name", pa.string()), ("id_number", pa.string()),
     ("phone", pa.string()), ("birth", pa.date32()), ("gender", pa.string()),
     ("address", pa.string())]
)  # fmt: skip


def population_chunk(
    rid: np.ndarray, p: People, places: Places, t: Names
) -> tuple[pa.Table, pa.Table]:
    name, pinyin = name_parts(p, t)
    ids = id_numbers(p)
    phones = pc.cast(pa.array(p.phone), pa.string())
    birth = _dates(p.birth)
    gender = _genders(p.male)
    address = addresses(p, places)
    path = paths(p, places)
    rids = pa.array(rid.astype(np.int64))
    plain = pa.Table.from_arrays(
        [rids, name, pinyin, ids, phones, birth, gender, address, path], schema=POPULATION_SCHEMA
    )
    n = len(rid)
    id_masked = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(ids, 0, 6),
        pa.array(np.full(n, "********")),
        pc.utf8_slice_codeunits(ids, 14, 18),
        "",
    )
    phone_masked = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(phones, 0, 3),
        pa.array(np.full(n, "****")),
        pc.utf8_slice_codeunits(phones, 7, 11),
        "",
    )
    registry = pa.Table.from_arrays(
        [rids, name, pinyin, birth, gender, blind_column(ids, "id"), id_masked,
         blind_column(phones, "phone"), phone_masked, address, path],
        schema=REGISTRY_SCHEMA,
    )  # fmt: skip
    return plain, registry


# --- the risk list -----------------------------------------------------------------------------


def _categorical(rng: np.random.Generator, n: int, rates: dict[str, float]) -> np.ndarray:
    """One label per record ("" = no error), mutually exclusive, at the given rates."""
    u = rng.random(n)
    out = np.full(n, "", dtype=object)
    edge = 0.0
    for label, rate in rates.items():
        out[(u >= edge) & (u < edge + rate)] = label
        edge += rate
    return out.astype(str)


def _digit_errors(
    rng: np.random.Generator, values: pa.Array, kind: np.ndarray, first: int
) -> tuple[pa.Array, np.ndarray]:
    """Change one digit ("digit") or swap two adjacent different digits ("transposed") at
    position ``first`` or later; returns the values and where the error really took."""
    width = len(values[0].as_py())
    raw = np.array(values.to_pylist(), dtype=f"S{width}").view(np.uint8).reshape(-1, width)
    n = raw.shape[0]
    applied = np.zeros(n, dtype=bool)
    # One digit changed: a different digit (an X check digit becomes a digit).
    d = np.flatnonzero(kind == "digit")
    pos = rng.integers(first, width, d.size)
    old = raw[d, pos]
    new = (np.where(old == ord("X"), 0, old - ord("0")) + rng.integers(1, 10, d.size)) % 10
    raw[d, pos] = new + ord("0")
    applied[d] = True
    # Transposed: the first pair (from a random start) of different adjacent digits.
    tr = np.flatnonzero(kind == "transposed")
    start = rng.integers(first, width - 1, tr.size)
    for shift in range(width - 1 - first):
        pos = first + (start - first + shift) % (width - 1 - first)
        a, b = raw[tr, pos], raw[tr, pos + 1]
        ok = (a != b) & ~applied[tr]
        rr = tr[ok]
        raw[rr, pos[ok]], raw[rr, pos[ok] + 1] = b[ok], a[ok]
        applied[rr] = True
    text = pa.array(raw.view(f"S{width}").ravel()).cast(pa.string())
    return text, applied


def _fullwidth(values: pa.Array, which: np.ndarray) -> pa.Array:
    """Digits (and X) in full width (１２０…Ｘ) on the rows ``which``."""
    table = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
    py = values.to_pylist()
    for i in np.flatnonzero(which):
        if py[i] is not None:
            py[i] = py[i].translate(table)
    return pa.array(py, pa.string())


def _valid_ymd(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(valid, days since 1970) for year/month/day arrays."""
    ok = (m >= 1) & (m <= 12) & (d >= 1) & (y >= 1900) & (y <= 2023)
    month = np.where(ok, (y - 1970) * 12 + (m - 1), 0).astype("datetime64[M]")
    days_in = ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(int)
    ok &= d <= days_in
    days = month.astype("datetime64[D]").astype(np.int64) + d - 1
    return ok, days


def make_risk(
    rng: np.random.Generator,
    drawn: np.ndarray,
    people: People,
    residents: int,
    negative: np.ndarray,
    places: Places,
    t: Names,
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(risk, truth, errors): the residents ``drawn`` (rids) and the people after the first
    ``residents`` (not in the registry, ``negative`` says how hard: "plain", "name_year",
    "name_date"), shuffled."""
    src = people.take(drawn - 1)
    extra = people.take(np.arange(residents, people.male.size))
    both = People(**{k: np.concatenate([getattr(src, k), getattr(extra, k)]) for k in vars(src)})
    n = drawn.size + extra.male.size
    rid = np.concatenate([drawn, np.full(extra.male.size, -1)])
    kind = np.concatenate([np.full(drawn.size, ""), negative])
    order = rng.permutation(n)
    both = both.take(order)
    rid = rid[order]
    kind = kind[order]
    rec = np.arange(1, n + 1, dtype=np.int64)

    # Name errors on the given characters.
    name_err = _categorical(rng, n, NAME_ERRORS)
    has2 = both.g2 >= 0
    homo = name_err == "homophone"
    # The character replaced: either given character, but for a homophone one that has some.
    count1 = np.diff(t.homophone_ptr)[both.g1]
    count2 = np.where(has2, np.diff(t.homophone_ptr)[np.maximum(both.g2, 0)], 0)
    which = np.where(has2 & (rng.random(n) < 0.5), 2, 1)
    which = np.where(homo & (which == 1) & (count1 == 0) & (count2 > 0), 2, which)
    which = np.where(homo & (which == 2) & (count2 == 0) & (count1 > 0), 1, which)
    target = np.where(which == 2, both.g2, both.g1).astype(np.int64)
    count = t.homophone_ptr[target + 1] - t.homophone_ptr[target]
    pick = t.homophone_ptr[target] + (rng.random(n) * np.maximum(count, 1)).astype(np.int64)
    can = homo & (count > 0)
    # Prefer a common substitute: of two draws, the one earlier in the table.
    pick2 = t.homophone_ptr[target] + (rng.random(n) * np.maximum(count, 1)).astype(np.int64)
    chosen = np.minimum(
        t.homophones[np.minimum(pick, t.homophones.size - 1)],
        t.homophones[np.minimum(pick2, t.homophones.size - 1)],
    )
    replaced = np.where(can, chosen, target)
    rand = name_err == "random_char"
    pool = np.concatenate([idx for idx, _p in t.pools.values()])
    other = pool[rng.integers(0, pool.size, n)]
    other = np.where(other == target, pool[(rng.integers(0, pool.size, n))], other)
    replaced = np.where(rand, other, replaced)
    g1 = np.where(which == 1, replaced, both.g1).astype(np.int16)
    g2 = np.where(which == 2, replaced, both.g2).astype(np.int16)
    # Traditional: each character that has a traditional form, with probability 0.7; at
    # least one. Surname forms come from the surname table.
    trad = name_err == "traditional"
    g1_t = t.char_trad[both.g1]
    g2_t = np.where(both.g2 >= 0, t.char_trad[np.maximum(both.g2, 0)], -1)
    s_has = np.array([a != b for a, b in zip(t.surnames, t.surname_trad, strict=True)])[
        both.surname
    ]
    conv_s = trad & s_has & (rng.random(n) < 0.7)
    conv_1 = trad & (g1_t >= 0) & (rng.random(n) < 0.7)
    conv_2 = trad & (g2_t >= 0) & (rng.random(n) < 0.7)
    none_yet = trad & ~(conv_s | conv_1 | conv_2)
    conv_s |= none_yet & s_has
    conv_1 |= none_yet & ~s_has & (g1_t >= 0)
    conv_2 |= none_yet & ~s_has & (g1_t < 0) & (g2_t >= 0)
    g1 = np.where(conv_1, g1_t, g1).astype(np.int16)
    g2 = np.where(conv_2, g2_t, g2).astype(np.int16)
    name_err = np.where(homo & ~can, "", name_err)
    name_err = np.where(trad & ~(conv_s | conv_1 | conv_2), "", name_err)
    named = People(**{**vars(both), "g1": g1, "g2": g2})
    name, _pinyin = name_parts(named, t, traditional=conv_s)

    # ID numbers.
    id_err = _categorical(rng, n, ID_ERRORS)
    ids, applied = _digit_errors(rng, id_numbers(both), id_err, 0)
    id_err = np.where(np.isin(id_err, ["digit", "transposed"]) & ~applied, "", id_err)
    id_missing = id_err == "missing"
    id_full = ~id_missing & (rng.random(n) < FULLWIDTH_RATE)
    ids = _fullwidth(ids, id_full)
    ids = pc.if_else(pa.array(id_missing), pa.nulls(n, pa.string()), ids)

    # Phones.
    phone_err = _categorical(rng, n, PHONE_ERRORS)
    new_phone = _PHONE_PREFIXES[rng.integers(0, _PHONE_PREFIXES.size, n)] * 10**8 + rng.integers(
        0, 10**8, n
    )
    phone_int = np.where(phone_err == "changed", new_phone, both.phone)
    phones, applied = _digit_errors(rng, pc.cast(pa.array(phone_int), pa.string()), phone_err, 3)
    phone_err = np.where(np.isin(phone_err, ["digit", "transposed"]) & ~applied, "", phone_err)
    phone_missing = phone_err == "missing"
    phone_full = ~phone_missing & (rng.random(n) < FULLWIDTH_RATE)
    phones = _fullwidth(phones, phone_full)
    phones = pc.if_else(pa.array(phone_missing), pa.nulls(n, pa.string()), phones)

    # Birth dates.
    birth_err = _categorical(rng, n, BIRTH_ERRORS)
    days = both.birth.astype("datetime64[D]")
    y = days.astype("datetime64[Y]").astype(np.int64) + 1970
    m = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
    ok_swap, swapped = _valid_ymd(y, d, m)
    ok_swap &= d != m
    birth = np.where((birth_err == "swapped") & ok_swap, swapped, both.birth)
    birth_err = np.where((birth_err == "swapped") & ~ok_swap, "", birth_err)
    digit = birth_err == "digit"
    done = np.zeros(n, dtype=bool)
    for _attempt in range(6):
        ymd = y * 10_000 + m * 100 + d
        pos = rng.integers(0, 8, n)
        place = 10 ** (7 - pos)
        old = (ymd // place) % 10
        new = ymd + ((old + rng.integers(1, 10, n)) % 10 - old) * place
        ok, nd = _valid_ymd(new // 10_000, (new // 100) % 100, new % 100)
        take = digit & ~done & ok & (new // 10_000 >= 1900)
        birth = np.where(take, nd, birth)
        done |= take
    birth_err = np.where(digit & ~done, "", birth_err)
    birth_missing = birth_err == "missing"

    gender_err = _categorical(rng, n, GENDER_ERRORS)

    # Addresses.
    address_err = _categorical(rng, n, ADDRESS_ERRORS)
    moved = address_err == "moved"
    elsewhere = people.take(rng.integers(0, residents, n))
    located = People(
        **{
            k: (np.where(moved, getattr(elsewhere, k), getattr(both, k)) if k in
                ("compound", "building", "unit", "floor", "room") else getattr(both, k))
            for k in vars(both)
        }
    )  # fmt: skip
    prefix = np.where(address_err == "abbreviated", rng.integers(1, 3, n), 0)
    address = addresses(located, places, prefix=prefix)
    address = pc.if_else(pa.array(address_err == "missing"), pa.nulls(n, pa.string()), address)

    risk = pa.Table.from_arrays(
        [pa.array(rec), name, ids, phones, _dates(birth, birth_missing),
         _genders(both.male, gender_err == "missing"), address],
        schema=RISK_SCHEMA,
    )  # fmt: skip
    resident = rid > 0
    truth = pa.table({"rec": pa.array(rec[resident]), "rid": pa.array(rid[resident])})
    errors = pa.table(
        {
            "rec": pa.array(rec),
            "rid": pa.array(np.where(resident, rid, 0), mask=~resident),
            "id_error": pa.array(np.where(id_full & (id_err == ""), "fullwidth", id_err)),
            "phone_error": pa.array(
                np.where(phone_full & (phone_err == ""), "fullwidth", phone_err)
            ),
            "name_error": pa.array(name_err),
            "birth_error": pa.array(birth_err),
            "gender_error": pa.array(gender_err),
            "address_error": pa.array(address_err),
            "negative": pa.array(kind),
        }
    )
    return risk, truth, errors


# --- the whole data set ------------------------------------------------------------------------


@dataclass(frozen=True)
class DataSet:
    folder: Path
    residents: int
    population: Path  # plaintext
    registry: Path  # the engine's REGISTRY_COLUMNS
    risk: Path
    truth: Path
    errors: Path


def default_folder(residents: int) -> Path:
    return Path(os.environ.get("TMPDIR") or tempfile.gettempdir()) / "sc_screening" / str(residents)


def dataset(folder: Path, residents: int) -> DataSet:
    return DataSet(
        folder=folder,
        residents=residents,
        population=folder / "population.parquet",
        registry=folder / "registry.parquet",
        risk=folder / "risk.parquet",
        truth=folder / "truth.parquet",
        errors=folder / "errors.parquet",
    )


def ensure(
    residents: int,
    *,
    folder: Path | None = None,
    risk_records: int = RISK_RECORDS,
    seed: int = SEED,
    reuse: bool = True,
    log: Any = sys.stderr,
) -> DataSet:
    """The data set in ``folder``: reused when made with the same parameters, else made."""
    folder = folder or default_folder(residents)
    data = dataset(folder, residents)
    meta = {"version": VERSION, "residents": residents, "risk": risk_records, "seed": seed}
    stamp = folder / "meta.json"
    if reuse and stamp.exists() and json.loads(stamp.read_text()) == meta:
        return data
    folder.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    generate(data, risk_records=risk_records, seed=seed, log=log)
    stamp.write_text(json.dumps(meta))
    return data


def generate(data: DataSet, *, risk_records: int, seed: int, log: Any = sys.stderr) -> None:
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    t = names_tables()
    n = data.residents
    extra_n = risk_records - round(risk_records * RESIDENT_SHARE)
    drawn_n = risk_records - extra_n
    if drawn_n > n:
        raise SystemExit(f"cannot draw {drawn_n:,} risk records from {n:,} residents")
    places = make_places(rng, n)
    everyone = make_people(rng, n + extra_n, places, t)
    # The extra people (not in the registry) are the last ones; half of them take a
    # resident's name, sex and birth year (a few of those the birth date too).
    extra_idx = np.arange(n, n + extra_n)
    is_hard = rng.random(extra_n) < HARD_NEGATIVE_SHARE
    hard = extra_idx[is_hard]
    twin = rng.integers(0, n, hard.size)
    for k in ("surname", "g1", "g2", "male"):
        getattr(everyone, k)[hard] = getattr(everyone, k)[twin]
    same_date = rng.random(hard.size) < SAME_DATE_SHARE
    year_start = (
        everyone.birth[twin].astype("datetime64[D]").astype("datetime64[Y]").astype("datetime64[D]")
    ).astype(np.int64)
    other_day = year_start + rng.integers(0, 365, hard.size)
    everyone.birth[hard] = np.where(same_date, everyone.birth[twin], other_day).astype(np.int32)
    negative = np.full(extra_n, "plain", dtype=object)
    negative[is_hard] = np.where(same_date, "name_date", "name_year")
    negative = negative.astype(str)
    assign_identities(rng, everyone, places)
    print(f"  people drawn in {time.perf_counter() - started:.1f} s", file=log)

    writers = {
        "plain": pq.ParquetWriter(data.population, POPULATION_SCHEMA, compression="zstd"),
        "registry": pq.ParquetWriter(data.registry, REGISTRY_SCHEMA, compression="zstd"),
    }
    try:
        for lo in range(0, n, CHUNK):
            hi = min(n, lo + CHUNK)
            rid = np.arange(lo + 1, hi + 1)
            plain, registry = population_chunk(rid, everyone.take(np.arange(lo, hi)), places, t)
            writers["plain"].write_table(plain, row_group_size=256 * 1024)
            writers["registry"].write_table(registry, row_group_size=256 * 1024)
            print(f"\r  {hi:>12,} / {n:,} residents written", end="", file=log)
        print(file=log)
    finally:
        for w in writers.values():
            w.close()

    drawn = np.sort(rng.choice(n, size=drawn_n, replace=False)) + 1
    risk, truth, errors = make_risk(rng, drawn, everyone, n, negative, places, t)
    pq.write_table(risk, data.risk, compression="zstd")
    pq.write_table(truth, data.truth, compression="zstd")
    pq.write_table(errors, data.errors, compression="zstd")
    print(f"  generated in {time.perf_counter() - started:.1f} s → {data.folder}", file=log)


def describe(data: DataSet) -> None:
    """What the data looks like: common names, shared names, error counts."""
    import duckdb

    con = duckdb.connect()
    pop, risk, errors = str(data.population), str(data.risk), str(data.errors)
    total = con.execute(f"SELECT count(*) FROM '{pop}'").fetchall()[0][0]
    print(f"residents: {total:,}")
    top = con.execute(
        f"SELECT name, count(*) c FROM '{pop}' GROUP BY name ORDER BY c DESC LIMIT 12"
    ).fetchall()
    print("most common names: " + ", ".join(f"{n} {c:,}" for n, c in top))
    shared = con.execute(
        f"""SELECT avg((c > 1)::INT) FROM (SELECT count(*) OVER (PARTITION BY name,
        year(birth)) c FROM '{pop}')"""
    ).fetchall()[0][0]
    print(f"share of residents whose name and birth year another resident has: {shared:.3f}")
    surnames = con.execute(
        f"SELECT left(name, 1) s, count(*) * 100.0 / sum(count(*)) OVER () FROM '{pop}' "
        "GROUP BY s ORDER BY 2 DESC LIMIT 6"
    ).fetchall()
    print("surnames: " + ", ".join(f"{s} {p:.2f}%" for s, p in surnames))
    print(con.sql(f"SELECT * FROM '{risk}' USING SAMPLE 8 ROWS (reservoir, 7)"))
    for column in ("id_error", "phone_error", "name_error", "birth_error", "gender_error",
                   "address_error"):  # fmt: skip
        rows = con.execute(
            f"SELECT {column}, count(*) FROM '{errors}' GROUP BY 1 ORDER BY 1"
        ).fetchall()
        print(f"{column:14} " + ", ".join(f"{k or 'none'} {c:,}" for k, c in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--risk", type=int, default=RISK_RECORDS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true", help="keep data made the same way")
    args = parser.parse_args()
    started = time.perf_counter()
    data = ensure(
        args.residents,
        folder=args.data_dir,
        risk_records=args.risk,
        seed=args.seed,
        reuse=args.reuse,
    )
    print(f"data in {data.folder} ({time.perf_counter() - started:.1f} s)")
    describe(data)


if __name__ == "__main__":
    main()
