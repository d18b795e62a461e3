"""Benchmark: transformer policies (DT, Q-Transformer) against notebook 08's offline methods, two data sets.

On ``two_routes_mixed`` (expert / noisy / failing episodes) and on the stitching data (failing
episodes plus expert suffixes from their split points: no episode is optimal), for each seed:
Gaussian BC, diffusion BC, IDQL and Diffusion-QL (notebook 08's suite, as the kit ships them), a
Decision Transformer asked for two target returns, and a Q-Transformer; success rate and normalised
return (0 = the mixed data's failing mean, 1 = its experts') over evaluation episodes with fixed
starts, training seconds (wall and CPU). Also a DT target-return sweep on the mixed data.

    python benchmarks/offline_sequence.py                 # 3 seeds x 100 episodes, both data sets
    python benchmarks/offline_sequence.py --quick         # 1 seed, small budgets, 20 episodes

Seeds run through ``labkit.sweep`` (--backend process|ray, --workers, --address, --out to resume);
the table gives means, IQMs and 95% bootstrap CIs (``labkit.stats.summarize``). Results:
benchmarks/results/offline_sequence[_quick].json. Targets: Diffusion-QL and at least one of DT /
Q-Transformer beat diffusion BC on normalised return (mixed data, mean over seeds); DT's achieved
return rises with the target return up to the data's best.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import table, write_results

from labkit.experiments.sequence import BUDGETS, DT_TARGETS, SEQUENCE_METHODS, references, run_sequence
from labkit.stats import summarize
from labkit.sweep import BACKENDS, grid, run

SWEEP = (-2.0, 0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 20.0)
QUICK_SWEEP = (-2.0, 4.0, 8.0, 12.0, 20.0)
METRICS = ("success", "normalised return", "return", "train s", "train cpu s")


def per_seed_rows(records: list[dict]) -> list[dict]:
    """One row per (data set, method, seed) from the sweep's records."""
    rows = []
    for r in records:
        for m in SEQUENCE_METHODS:
            rows.append({"dataset": r["dataset"], "method": m, "seed": r["seed"]} | {k: r[f"{m}/{k}"] for k in METRICS})
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Mean, min, max over seeds and the IQM with its 95% bootstrap CI, per (data set, method)."""
    out = []
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        for m in SEQUENCE_METHODS:
            mine = [r for r in rows if r["dataset"] == ds and r["method"] == m]
            s: dict = {"dataset": ds, "method": m}
            for k in METRICS:
                vals = [r[k] for r in mine]
                s[k], s[f"{k} min"], s[f"{k} max"] = statistics.mean(vals), min(vals), max(vals)
            for k in ("success", "normalised return"):
                st = summarize([r[k] for r in mine])
                s[f"{k} IQM"], s[f"{k} CI low"], s[f"{k} CI high"] = st["iqm"], *st["iqm_ci"]
            out.append(s)
    return out


def sweep_check(sweep: list[dict], data_best: float, tol: float = 0.5) -> tuple[bool, list]:
    """Mean achieved return over seeds per target; rises (within ``tol``) over the targets up to ``data_best``."""
    targets = sorted({r["target"] for r in sweep})
    curve = [(t, statistics.mean(r["return"] for r in sweep if r["target"] == t)) for t in targets]
    upto = [a for t, a in curve if t <= data_best]
    rising = len(upto) > 1 and all(b >= a - tol for a, b in zip(upto, upto[1:])) and upto[-1] > upto[0] + 3 * tol
    return rising, curve


def targets(summary: list[dict], sweep: list[dict], ref: dict) -> dict[str, bool]:
    by = {(r["dataset"], r["method"]): r for r in summary}
    bc = by[("mixed", "diffusion BC")]["normalised return"]
    seq = max((by[("mixed", m)] for m in (*DT_TARGETS, "Q-Transformer")), key=lambda r: r["normalised return"])
    checks = {
        "Diffusion-QL beats diffusion BC on normalised return (mixed)": by[("mixed", "Diffusion-QL")][
            "normalised return"
        ]
        > bc,
        f"{seq['method']} (best of DT / QT) beats diffusion BC on normalised return (mixed)": seq["normalised return"]
        > bc,
    }
    if sweep:
        checks["DT's achieved return rises with the target up to the data's best (mixed)"] = sweep_check(
            sweep, ref["best_episode"]
        )[0]
    return checks


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 seed, small budgets, 20 episodes (< 3 minutes idle)")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--episodes", type=int, default=None, help="evaluation episodes per policy and seed")
    ap.add_argument("--only", choices=["mixed", "stitch"], default=None)
    ap.add_argument(
        "--backend", choices=BACKENDS, default="sequential", help="labkit.sweep backend (timings: sequential)"
    )
    ap.add_argument("--workers", type=int, default=None, help="parallel trials (process / ray backends)")
    ap.add_argument("--address", default=None, help="a Ray cluster to join (default RAY_ADDRESS or a local Ray)")
    ap.add_argument("--out", default=None, help="a folder that keeps finished trials (a rerun resumes)")
    args = ap.parse_args(argv)
    mode = "quick" if args.quick else "full"
    budget = BUDGETS[mode]
    seeds = list(range(args.seeds or (1 if args.quick else 3)))
    episodes = args.episodes or budget["episodes"]
    datasets = [args.only] if args.only else ["mixed", "stitch"]
    sweep_targets = QUICK_SWEEP if args.quick else SWEEP
    ref = references()
    c0, w0 = time.process_time(), time.perf_counter()
    settings = [
        {**budget["trial"], "episodes": episodes, **s, "sweep": sweep_targets if s["dataset"] == "mixed" else ()}
        for s in grid(dataset=datasets)
    ]
    result = run(run_sequence, settings, seeds=seeds, backend=args.backend, workers=args.workers,
                 address=args.address, out=args.out, progress=False)  # fmt: skip
    if result.failed:
        raise SystemExit(f"{len(result.failed)} trials failed: {result.failed[0]['error']}")
    rows = per_seed_rows(result.records)
    for r in rows:
        print(
            f"{r['dataset']:>6} seed {r['seed']} {r['method']:>13}: success {r['success']:.0%}, normalised return "
            f"{r['normalised return']:.2f}, train {r['train cpu s']:.0f} CPU s / {r['train s']:.0f} s wall"
        )
    sweep = [row for rec in result.records for row in rec.get("sweep", [])]
    summary = summarise(rows)
    checks = targets(summary, sweep, ref) if "mixed" in datasets else {}
    payload = {
        "mode": mode,
        "seeds": seeds,
        "episodes": episodes,
        "budget": budget,
        "references": ref,
        "per_seed": rows,
        "summary": summary,
        "sweep": sweep,
        "sweep_curve": sweep_check(sweep, ref["best_episode"])[1] if sweep else [],
        "targets": checks,
        "total_cpu_s": time.process_time() - c0,
        "total_wall_s": time.perf_counter() - w0,
    }
    print(f"\nseeds {seeds} x {episodes} episodes (mean over seeds)")
    cols = ["dataset", "method", "success", "success IQM", "normalised return", "normalised return IQM"]
    print(table(summary, cols + ["normalised return CI low", "normalised return CI high", "train cpu s", "train s"]))
    if sweep:
        print("\nDT target sweep (mixed):", ", ".join(f"{t:g} -> {a:.2f}" for t, a in payload["sweep_curve"]))
    print()
    for k, v in checks.items():
        print(f"  [{'x' if v else ' '}] {k}")
    print(f"total {payload['total_cpu_s']:.0f} CPU s, {payload['total_wall_s']:.0f} s wall")
    name = "offline_sequence" + ("_quick" if args.quick else "") + (f"_{args.only}" if args.only else "")
    print(f"results: {write_results(name, payload)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
