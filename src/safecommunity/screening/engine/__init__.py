"""The screening engine: find the people of a risk list among the residents, and duplicate
people within the registry. Plain Python over DuckDB and NumPy: no Django here, so the
benchmarks and other programs use it as they find it.

Data in, matches out::

    index = ScreeningIndex.build(registry_rows)      # once; then index.upsert / index.delete
    result = screen(index, risk_rows, blind=blind)   # per risk list: pay only for the list
    pairs = deduplicate(index)                       # merge candidates within the registry

**Registry rows** (``REGISTRY_COLUMNS``; a ``pyarrow.Table``, or an iterable of such tables
for streaming, or a path to a Parquet file): ``rid`` (int), ``name``, ``pinyin`` (toneless
syllables separated by spaces, or null: the engine computes it), ``birth`` (date or null),
``gender`` ("male"/"female"/null), ``id_key`` and ``phone_key`` (the registry's blind indexes,
hex, or null), ``id_masked`` (``120104********1234``) and ``phone_masked`` (``138****5678``)
as the registry already stores them, ``address`` (standard address of the current dwelling,
or null) and ``path`` (place path, only carried, for scope filters). The index never holds an
ID or phone number in clear: only what the registry holds outside its ciphertexts.

**Risk rows** (``RISK_COLUMNS``): ``rec`` (int, unique within the list), ``name``,
``id_number`` and ``phone`` (normalised digits, or null; an ID that fails its checksum is
kept: the engine repairs one wrong or two swapped digits), ``birth``, ``gender``,
``address``. ``blind(value, purpose)`` turns an ID ("id") or phone ("phone") into the same
blind index the registry stores.

**Matches** (``MATCH_COLUMNS``): per candidate pair above the "possible" band: ``rec``,
``rid``, ``weight`` (log2 Bayes factor), ``probability``, ``band`` (certain / probable /
possible), and per compared field ``<field>_level`` (a label such as "exact", "homophone")
with ``<field>_weight`` (its contribution in bits, term frequency included).
"""

from safecommunity.screening.engine.index import (
    REGISTRY_COLUMNS,
    REGISTRY_SCHEMA,
    ScreeningIndex,
)
from safecommunity.screening.engine.match import (
    BANDS,
    FIELDS,
    MATCH_COLUMNS,
    RISK_COLUMNS,
    ScreenResult,
    deduplicate,
    exact_ids,
    screen,
)

__all__ = [
    "BANDS",
    "FIELDS",
    "MATCH_COLUMNS",
    "REGISTRY_COLUMNS",
    "REGISTRY_SCHEMA",
    "RISK_COLUMNS",
    "ScreenResult",
    "ScreeningIndex",
    "deduplicate",
    "exact_ids",
    "screen",
]
