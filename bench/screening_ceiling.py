"""How far could the engine's F1 go on its own comparisons? The truth-fitted ceiling of a
recalibration, beside the engine's one fixed threshold.

    .venv/bin/python bench/screening_ceiling.py --residents 1000000 --reuse

Screens ``screening_data``'s risk list (``--reuse`` keeps the data) on the screening index
``screening_vs_splink`` builds in the data folder (built here when missing), keeping every
candidate pair's comparison levels and probability, and reads the truth. A recalibration
may decide per group of pairs alike — the same levels in every field and a probability in
the same tenth — to accept the whole group or none. Its ceiling uses the truth, which no run
has: with two folds of the records, each fold's groups are accepted where the other fold's
same group held more true pairs than false (a group the other fold never met keeps the
engine's decision). Printed as well, the in-sample "oracle" that picks per group with the
truth of the very pairs it scores: an upper bound, flattered by overfitting. F1 counts every
true pair, the ones blocking lost included.

If the engine's F1 sits near the cross-validated ceiling, no reweighting of these comparisons
finds the rest: the errors left are pairs that look alike field for field, true and false.

``--classifier`` adds a gradient-boosted classifier fitted the same cross-validated way, on
the levels and the probability, and then also on the record's rivals (how many candidates,
the runner-up's probability): what a learner with the truth finds beyond the groups above.
"""

# SQL here is built from our own file paths and fixed names, never from input.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import os
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import screening_data
from screening_data import DataSet
from screening_vs_splink import read_risk, usable_index

LEVELS = "id_lv, phone_lv, name_lv, birth_lv, gender_lv, address_lv"
# Groupings tried, each with the probability's tenth: finer groups fit the truth more closely
# and generalise worse.
GROUPS = {
    "levels of every field + tenth of p": f"{LEVELS}, least(floor(probability * 10), 9)",
    "name and birth levels + tenth of p": "name_lv, birth_lv, least(floor(probability * 10), 9)",
    "twentieth of p alone": "least(floor(probability * 20), 19)",
}
THRESHOLD = 0.5  # the engine's: the floor of "probable"


def classified(con: duckdb.DuckDBPyConnection, rivals: bool) -> tuple[int, int]:
    """(TP, FP) of a gradient-boosted classifier (scikit-learn, which ``recordlinkage``
    brings) on every pair's levels and probability — with ``rivals``, also how many
    candidates its record has and the runner-up's probability — fitted on the truth of one
    fold's records, accepting at 0.5 on the other's."""
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier

    extra = (
        """, count(*) OVER (PARTITION BY rec) AS candidates,
        coalesce(nth_value(probability, 2) OVER (
            PARTITION BY rec ORDER BY probability DESC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING), -1) AS runner_up"""
        if rivals
        else ""
    )
    found = con.execute(f"SELECT {LEVELS}, probability{extra}, fold, hit FROM pairs").fetchnumpy()
    features = np.column_stack(
        [np.asarray(v, float) for k, v in found.items() if k not in ("fold", "hit")]
    )
    fold, hit = np.asarray(found["fold"]), np.asarray(found["hit"], bool)
    accepted = np.zeros(len(hit), bool)
    for held_out in (0, 1):
        train = fold != held_out
        model = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, random_state=0)
        model.fit(features[train], hit[train])
        accepted[~train] = model.predict_proba(features[~train])[:, 1] >= THRESHOLD
    return int((accepted & hit).sum()), int((accepted & ~hit).sum())


def f1(tp: int, fp: int, truth: int) -> float:
    fn = truth - tp
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def scored_pairs(data: DataSet) -> Path:
    """Every candidate pair of one run on the data's screening index, with its levels and
    probability, written beside the data."""
    os.environ.setdefault("SECRET_KEY", "bench-only")
    from safecommunity.screening.engine import screen

    index = usable_index(data)
    result = screen(index, read_risk(data), blind=screening_data.blind, keep_candidates=True)
    index.close()
    out = data.folder / "result-ceiling.cand.parquet"
    assert result.candidates is not None
    pq.write_table(result.candidates, out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true", help="reuse generated data")
    parser.add_argument(
        "--classifier", action="store_true", help="also fit a gradient-boosted classifier"
    )
    args = parser.parse_args()
    data = screening_data.ensure(args.residents, folder=args.data_dir, reuse=args.reuse)
    candidates = scored_pairs(data)
    con = duckdb.connect()
    con.execute(
        f"""CREATE TABLE pairs AS
        SELECT c.*, t.rec IS NOT NULL AS hit, hash(c.rec) % 2 AS fold
        FROM read_parquet('{candidates}') c
        LEFT JOIN read_parquet('{data.truth}') t USING (rec, rid)"""
    )
    truth = con.execute(f"SELECT count(*) FROM read_parquet('{data.truth}')").fetchall()[0][0]
    pairs, blocked = con.execute("SELECT count(*), count(*) FILTER (hit) FROM pairs").fetchall()[0]
    tp, fp = con.execute(
        f"""SELECT count(*) FILTER (hit AND probability >= {THRESHOLD}),
                   count(*) FILTER (NOT hit AND probability >= {THRESHOLD}) FROM pairs"""
    ).fetchall()[0]
    print(
        f"{data.residents:,} residents: {pairs:,} candidate pairs, {blocked:,} of {truth:,} true pairs among them"
    )

    def row(name: str, tp: int, fp: int) -> None:
        print(f"{name:56}{tp:>8,}{fp:>7,}{truth - tp:>7,}{f1(tp, fp, truth):>9.5f}")

    print(f"{'':56}{'TP':>8}{'FP':>7}{'FN':>7}{'F1':>9}")
    row("engine, p >= 0.5", tp, fp)
    for label, key in GROUPS.items():
        for fitted, other in (
            ("cross-validated", "a.fold <> b.fold"),
            ("in-sample oracle", "a.fold = b.fold"),
        ):
            tp, fp = con.execute(
                f"""WITH x AS (SELECT concat_ws(',', {key}) AS g, fold, hit, probability FROM pairs),
                counted AS (SELECT g, fold, count(*) FILTER (hit) AS h, count(*) FILTER (NOT hit) AS nh
                            FROM x GROUP BY g, fold),
                decided AS (SELECT a.g, a.fold, b.h > b.nh AS accept
                            FROM counted a LEFT JOIN counted b ON a.g = b.g AND {other})
                SELECT count(*) FILTER (hit AND coalesce(accept, probability >= {THRESHOLD})),
                       count(*) FILTER (NOT hit AND coalesce(accept, probability >= {THRESHOLD}))
                FROM x JOIN decided USING (g, fold)"""
            ).fetchall()[0]
            row(f"{fitted}: {label}", tp, fp)
    if args.classifier:
        for rivals in (False, True):
            row(
                "cross-validated classifier" + (", with the rivals" if rivals else ""),
                *classified(con, rivals),
            )


if __name__ == "__main__":
    main()
