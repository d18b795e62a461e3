"""Benchmark: notebook 11's claims over seeds: RLDG (experts -> generalist), RPD (generalist -> expert),
consistency distillation (many denoising steps -> one), all on labkit/TwoRoutes-v0 and its variants.

    python benchmarks/distillation.py            # 3 seeds, notebook-03 teachers trained per seed, both RPD rewards
    python benchmarks/distillation.py --quick    # 1 seed, the shipped teacher, sparse RPD only (< 3 min idle)
    python benchmarks/distillation.py --parts consistency --seeds 5 --backend process --workers 2

Every (part, seed) is one ``labkit.experiments.distill.run_part`` trial run by ``labkit.sweep.run``;
``--out DIR`` keeps finished trials, so an interrupted run resumes. Per-seed values, CPU seconds and the
load go to benchmarks/results/distillation[_quick].json, with IQM and 95% bootstrap CIs
(``labkit.stats.summarize``).

Targets (issue 16):
- the one-step consistency policy is >= 8x faster per action than DDIM-10, loses <= 5 points of success
  and keeps both routes (each >= 35% of its successes);
- the generalist trained on the RL specialists' data beats the one trained on scripted demonstrations;
- the RPD student reaches its teacher's success in fewer env steps than PPO from scratch and ends above it.
Latencies need an otherwise idle machine (CPU-time medians are kept beside wall-clock ones).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from _common import table, write_results

import labkit  # noqa: F401
from labkit.experiments.distill import DATA_SOURCES, budget, run_part
from labkit.stats import summarize
from labkit.sweep import BACKENDS, run


def _stats(values: list[float]) -> dict:
    s = summarize(values)
    return {k: s[k] for k in ("n", "mean", "iqm", "iqm_ci", "min", "max")} if s["n"] else s


def targets(out: dict) -> dict:
    """The issue's targets from whatever parts ``out`` holds (means over seeds; RPD: every seed)."""
    met: dict = {}
    values: dict = {}
    if "consistency" in out:
        per = [c["targets"] for c in out["consistency"]["per_seed"]]
        values.update(
            {k: float(np.mean([t[k] for t in per])) for k in per[0]},
        )
        met["one-step >= 8x faster per action than DDIM-10"] = values["speedup_vs_ddim10"] >= 8.0
        met["one-step loses <= 5 points of success"] = values["success_drop_points"] <= 5.0
        met["one-step keeps both routes (each >= 35%)"] = min(values["one_step_left"], values["one_step_right"]) >= 0.35
    if "rldg" in out:
        values["rl_generalist"] = out["rldg"]["mean_success"]["RL specialists"]
        values["demo_generalist"] = out["rldg"]["mean_success"]["scripted demos"]
        met["RL-data generalist beats demo-data generalist"] = values["rl_generalist"] > values["demo_generalist"]
    for reward, block in out.get("rpd", {}).items():
        runs = block["per_seed"]
        met[f"RPD ({reward}) reaches the teacher in fewer steps than PPO (every seed)"] = all(
            r["faster_than_ppo"] for r in runs
        )
        met[f"RPD ({reward}) ends above the teacher (every seed)"] = all(r["ends_above_teacher"] for r in runs)
    return {**met, "values": values}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 seed, the shipped teacher, smaller budgets (< 3 min)")
    ap.add_argument("--seeds", type=int, default=None, help="number of seeds (default 3, quick 1)")
    ap.add_argument(
        "--parts", nargs="+", choices=("rldg", "rpd", "consistency"), default=["rldg", "rpd", "consistency"]
    )
    ap.add_argument("--teacher", choices=("shipped", "nb03"), default=None, help="consistency teacher")
    ap.add_argument("--rpd-rewards", nargs="+", choices=("dense", "sparse"), default=None)
    ap.add_argument("--backend", choices=BACKENDS, default="sequential", help="labkit.sweep backend")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--out", default=None, help="a folder keeping every finished trial (resumable)")
    args = ap.parse_args(argv)
    name = "quick" if args.quick else "full"
    seeds = list(range(args.seeds or (1 if args.quick else 3)))
    teacher = args.teacher or ("shipped" if args.quick else "nb03")
    rewards = args.rpd_rewards or (["sparse"] if args.quick else ["dense", "sparse"])
    settings = []
    for part in args.parts:
        if part == "rpd":
            settings += [{"part": "rpd", "budget_name": name, "reward": r} for r in rewards]
        elif part == "consistency":
            settings.append({"part": "consistency", "budget_name": name, "teacher": teacher})
        else:
            settings.append({"part": part, "budget_name": name})
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    sweep = run(run_part, settings, seeds, backend=args.backend, workers=args.workers, out=args.out, progress=False)
    if sweep.failed:
        raise SystemExit(f"{len(sweep.failed)} trials failed: {sweep.failed[0]['error']}")
    by_part: dict[str, list[dict]] = {}
    for r in sweep.records:
        by_part.setdefault(r["part"], []).append(r)
    out: dict = {"quick": args.quick, "seeds": seeds, "budget": asdict(budget(name)), "backend": args.backend}
    if "rldg" in by_part:
        per = by_part["rldg"]
        out["rldg"] = {
            "per_seed": per,
            "mean_success": {
                s: float(np.mean([r["mean_success"][s] for r in per])) for s in [*DATA_SOURCES, "specialists"]
            },
            "stats": {s: _stats([r["mean_success"][s] for r in per]) for s in [*DATA_SOURCES, "specialists"]},
        }
        print("\nExperts -> generalist: mean success over the variants (mean over seeds)")
        print(
            table(
                [
                    {
                        "data": s,
                        "success": out["rldg"]["mean_success"][s],
                        "episode length": float(np.mean([r["mean_length"][s] for r in per])),
                    }
                    for s in [*DATA_SOURCES, "specialists"]
                ],
                ["data", "success", "episode length"],
            )
        )
    if "rpd" in by_part:
        out["rpd"] = {}
        for reward in rewards:
            per = [r for r in by_part["rpd"] if r["reward"] == reward]
            out["rpd"][reward] = {"per_seed": per}
            print(f"\nGeneralist -> expert (RPD), {reward} reward")
            print(
                table(
                    [
                        {
                            "seed": r["seed"],
                            "teacher": r["teacher_success"],
                            **{
                                f"{m} reach": str(r[m]["steps_to_teacher"]) for m in ("RPD student", "PPO from scratch")
                            },
                            **{f"{m} final": r[m]["final_success"] for m in ("RPD student", "PPO from scratch")},
                        }
                        for r in per
                    ],
                    [
                        "seed",
                        "teacher",
                        "RPD student reach",
                        "PPO from scratch reach",
                        "RPD student final",
                        "PPO from scratch final",
                    ],
                )
            )
    if "consistency" in by_part:
        per = by_part["consistency"]
        rows = [row for r in per for row in r["rows"]]
        out["consistency"] = {
            "teacher": teacher,
            "per_seed": per,
            "rows": rows,
            "stats": {k: _stats([r["targets"][k] for r in per]) for k in per[0]["targets"]},
        }
        labels = list(dict.fromkeys(row["label"] for row in rows))
        print(f"\nMany steps -> one ({teacher} teacher), mean over seeds")
        print(
            table(
                [
                    {
                        "setting": lab,
                        **{
                            k: float(np.mean([row[k] for row in rows if row["label"] == lab]))
                            for k in ("ms_per_action", "cpu_ms_per_action", "success", "left")
                        },
                    }
                    for lab in labels
                ],
                ["setting", "ms_per_action", "cpu_ms_per_action", "success", "left"],
            )
        )
    out["targets"] = targets(out)
    out["total"] = {
        "wall_s": round(time.perf_counter() - start_wall, 1),
        "cpu_s": round(time.process_time() - start_cpu, 1),
    }
    print()
    for k, v in out["targets"].items():
        if k != "values":
            print(f"  [{'x' if v else ' '}] {k}")
    print("values:", {k: round(v, 3) for k, v in out["targets"]["values"].items()})
    path = write_results("distillation" + ("_quick" if args.quick else ""), out)
    print(f"total {out['total']} -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
