"""Benchmark: notebook 12 (policy safety and open challenges), four targets over seeds.

    python benchmarks/safety.py            # full, 3 seeds: benchmarks/results/safety.json (the notebook reads it)
    python benchmarks/safety.py --quick    # 2 seeds, small budgets: benchmarks/results/safety_quick.json
    python benchmarks/safety.py --parts constraints latency --backend process --workers 2 --out runs/safety

Every trial is a sweep-ready function of ``labkit.experiments.safety`` (``run_constraints``, ``run_saferl``,
``run_forgetting``, ``run_latency``: ``fn(seed, **settings) -> dict``) run by ``labkit.sweep.run``; per-seed
records, CPU and wall seconds and the load are in the JSON, with IQM and 95% bootstrap CIs
(``labkit.stats.summarize``) of the numbers each target reads. Targets (issue 17):

1. constraints: final-sample projection or guidance brings the violation rate below 1% with at most
   5 points less success than unconstrained sampling of the shipped prior;
2. saferl: residual PPO-Lagrangian's final episode cost is within 10% of its limit (<= 1.1 d) while
   unconstrained residual PPO's is not (full run: also the cost-limit frontier and PPO from scratch);
3. forgetting: with the BC term the old task keeps >= 80% of its pre-fine-tuning success, while plain
   fine-tuning keeps less than half of it;
4. latency: with a delay of half a chunk, RTC's success is within 10 points of no delay, while naive
   switching drops by more than 10 points.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import table, write_results

import labkit  # noqa: F401
from labkit.experiments import safety as ex
from labkit.stats import summarize
from labkit.sweep import BACKENDS, grid, run

PARTS = ("constraints", "saferl", "forgetting", "latency")


def budgets(quick: bool) -> dict[str, dict[str, Any]]:
    """Settings of every part's trials (lists are swept)."""
    return {
        "constraints": {"n_episodes": [50 if quick else 200]},
        "saferl": {
            "steps": [25_000 if quick else ex.PRIOR_PRESET.steps],
            "cost_limit": [ex.COST_LIMIT, None] if quick else [0.05, ex.COST_LIMIT, 0.2, 0.4, None],
        },
        "saferl_scratch": {} if quick else {"steps": [ex.SCRATCH_PRESET.steps], "cost_limit": [ex.COST_LIMIT, None]},
        "forgetting": {
            "steps": [50_000 if quick else ex.ForgettingPreset.steps],
            "eval_every": [25_000 if quick else ex.ForgettingPreset.eval_every],
            "reg": [None, "bc"] if quick else [None, "bc", "ks"],
        },
        "latency": {
            "iterations": [1_500 if quick else 3_000],
            "delays": [(0, 4) if quick else (0, 1, 2, 3, 4)],
            "n_episodes": [100 if quick else 200],
        },
    }


def _sweep(fn, settings: dict[str, list], seeds: list[int], args, name: str) -> list[dict[str, Any]]:
    out = None if args.out is None else Path(args.out) / name
    res = run(fn, grid(**settings), seeds, backend=args.backend, workers=args.workers, out=out, progress=False)
    if res.failed:
        raise SystemExit(f"{name}: {len(res.failed)} trials failed; first: {res.failed[0]['error']}")
    return res.ok


def _stat(values) -> dict[str, Any]:
    return summarize(list(values))


def _iqm(s: dict[str, Any]) -> str:
    return f"{s['iqm']:.3f} [{s['iqm_ci'][0]:.3f}, {s['iqm_ci'][1]:.3f}]" if s.get("n") else "n/a"


def bench_constraints(records: list[dict[str, Any]]) -> tuple[dict, dict]:
    summary = {
        m: {
            k: _stat(r["methods"][m][k] for r in records) for k in ("success", "violation_rate", "distortion", "ms_cpu")
        }
        for m in ex.METHODS
    }
    base = summary["none"]["success"]["mean"]
    verdict = {}
    for m in ("project_final", "guidance", "project_every"):
        viol, succ = summary[m]["violation_rate"]["mean"], summary[m]["success"]["mean"]
        verdict[m] = {
            "violation_rate": viol,
            "success": succ,
            "success_drop_points": 100 * (base - succ),
            "pass": viol < 0.01 and 100 * (base - succ) <= 5.0,
        }
    target = {
        "pass": verdict["project_final"]["pass"] or verdict["guidance"]["pass"],
        "unconstrained_success": base,
        "unconstrained_violation_rate": summary["none"]["violation_rate"]["mean"],
        "methods": verdict,
    }
    print(
        table(
            [{"method": m, **{k: v["mean"] for k, v in summary[m].items()}} for m in ex.METHODS],
            ["method", "success", "violation_rate", "distortion", "ms_cpu"],
        )
    )
    return {"per_seed": records, "summary": summary}, target


def _saferl_verdict(records: list[dict[str, Any]], label: str) -> dict[str, Any]:
    d = ex.COST_LIMIT
    lag = [r for r in records if r["cost_limit"] == d]
    unc = [r for r in records if r["cost_limit"] is None]
    lag_c, unc_c = _stat(r["cost"] for r in lag), _stat(r["cost"] for r in unc)
    lag_s, unc_s = _stat(r["success"] for r in lag), _stat(r["success"] for r in unc)
    within = sum(r["cost"] <= 1.1 * d for r in lag)
    return {
        "pass": lag_c["mean"] <= 1.1 * d < unc_c["mean"],
        "cost_limit": d,
        "lagrangian_cost": lag_c,
        "unconstrained_cost": unc_c,
        "lagrangian_success": lag_s,
        "unconstrained_success": unc_s,
        "lagrangian_seeds_within": f"{within}/{len(lag)}",
        "summary": (
            f"{label}: PPO-Lagrangian cost {lag_c['mean']:.3f} hazard entries per episode (limit {d}, "
            f"{within}/{len(lag)} seeds within 10%), unconstrained {unc_c['mean']:.3f}; "
            f"success {lag_s['mean']:.0%} vs {unc_s['mean']:.0%}"
        ),
    }


def bench_forgetting(records: list[dict[str, Any]]) -> tuple[dict, dict]:
    kept = {}
    for reg in dict.fromkeys(r["reg"] for r in records):
        sel = [r for r in records if r["reg"] == reg]
        kept[reg] = {k: _stat(r[k] for r in sel) for k in ("old_before", "old_after", "new_after", "kept_share")}
    target = {
        "pass": kept["bc"]["kept_share"]["mean"] >= 0.8 and kept["plain"]["kept_share"]["mean"] < 0.5,
        **{reg: {k: v["mean"] for k, v in s.items()} for reg, s in kept.items()},
    }
    print(
        table(
            [{"term": reg, **{k: v["mean"] for k, v in s.items()}} for reg, s in kept.items()],
            ["term", "old_before", "old_after", "new_after", "kept_share"],
        )
    )
    return {"per_seed": records, "summary": kept}, target


def bench_latency(records: list[dict[str, Any]]) -> tuple[dict, dict]:
    rows = [dict(row, seed=r["seed"]) for r in records for row in r["rows"]]
    half = max(row["delay"] for row in rows)
    succ = {k: _stat(r["success"][k] for r in records) for k in records[0]["success"]}
    base = _stat([r["success"][f"{m}@0"] for r in records for m in ("naive", "rtc")])["mean"]
    rtc, naive = succ[f"rtc@{half}"]["mean"], succ[f"naive@{half}"]["mean"]
    target = {
        "pass": 100 * (base - rtc) <= 10 < 100 * (base - naive),
        "delay": half,
        "no_delay_success": base,
        "rtc_success": rtc,
        "naive_success": naive,
    }
    print(
        table(
            [{"method@delay": k, "success": v["mean"], "IQM [95% CI]": _iqm(v)} for k, v in succ.items()],
            ["method@delay", "success", "IQM [95% CI]"],
        )
    )
    return {"per_seed": records, "rows": rows, "summary": succ, "timing": ex.latency_rows()}, target


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 seeds, small budgets (a few minutes on 2 cores)")
    ap.add_argument("--seeds", type=int, default=None, help="number of seeds (default 3; --quick 2)")
    ap.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    ap.add_argument("--backend", choices=BACKENDS, default="sequential", help="labkit.sweep backend")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--out", default=None, help="keep every finished trial in this folder (resumable)")
    args = ap.parse_args(argv)
    seeds = list(range(args.seeds or (2 if args.quick else 3)))
    b = budgets(args.quick)
    start = ex.cpu_clock()
    payload: dict[str, Any] = {"quick": args.quick, "seeds": seeds, "budgets": b, "targets": {}, "time": {}}
    for part in args.parts:
        t0 = ex.cpu_clock()
        print(f"\n[{part}] {len(seeds)} seeds, {b[part]}", flush=True)
        if part == "constraints":
            payload[part], payload["targets"][part] = bench_constraints(
                _sweep(ex.run_constraints, b[part], seeds, args, part)
            )
        elif part == "saferl":
            runs = _sweep(ex.run_saferl, b[part], seeds, args, part)
            payload["targets"]["lagrangian_prior"] = _saferl_verdict(runs, "residual PPO on the prior")
            if b["saferl_scratch"]:
                scratch = _sweep(ex.run_saferl, {**b["saferl_scratch"], "prior": [False]}, seeds, args, "scratch")
                payload["targets"]["lagrangian_scratch"] = _saferl_verdict(scratch, "PPO from scratch")
                runs += scratch
            payload[part] = {"runs": runs}
            for key in ("lagrangian_prior", "lagrangian_scratch"):
                if key in payload["targets"]:
                    print(payload["targets"][key]["summary"])
        elif part == "forgetting":
            payload[part], payload["targets"][part] = bench_forgetting(
                _sweep(ex.run_forgetting, b[part], seeds, args, part)
            )
        else:
            payload[part], payload["targets"][part] = bench_latency(_sweep(ex.run_latency, b[part], seeds, args, part))
        payload["time"][part] = ex.elapsed(t0)
        print(
            f"[{part}] {payload['time'][part]} (CPU seconds of this process: trials in workers not counted)", flush=True
        )
    payload["time"]["total"] = ex.elapsed(start)
    print()
    for name, t in payload["targets"].items():
        print(f"  [{'x' if t['pass'] else ' '}] {name}")
    path = write_results("safety" + ("_quick" if args.quick else ""), payload)
    print(f"\nresults: {path}; total {payload['time']['total']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
