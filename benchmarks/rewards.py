"""Benchmark: PPO on each reward learned from demonstrations vs the true dense and the sparse reward (notebook 04).

    python benchmarks/rewards.py                # 3 seeds, every reward family, 30k env steps of PPO each
    python benchmarks/rewards.py --quick        # 1 seed; PPO on the diffusion reward, dense, sparse (< 3 min idle)
    python benchmarks/rewards.py --rewards diffusion video_prediction --seeds 5 --backend process --workers 2

Every (reward, seed) is one ``labkit.experiments.rewards.run_reward`` trial run by ``labkit.sweep.run``
(``--out DIR`` keeps finished trials, so an interrupted run resumes). A learned-reward trial trains the
model on ``two_routes_demos`` with its seed, measures its Pearson correlation with the true progress on
held-out episodes (expert, noisy, failing and random drivers) and its cost per env step (batched over
8 envs), then trains stock SB3 PPO on it (plus the sparse task reward), evaluated every 2,000 env steps
on 20 fixed starts of the TRUE task. Seed 0 of each PPO trial also measures PPO's throughput (env steps
per CPU second) with the reward in the loop; ``dense`` gives the plain-PPO reference. Per-seed values,
IQM and 95% bootstrap CIs (``labkit.stats.summarize``) go to benchmarks/results/rewards[_quick].json.

Targets (issue 11): the diffusion and video-prediction rewards, with no dense task reward, reach at least
80% of PPO's success on the true dense reward at the same budget and beat the sparse reward alone; the
reward computation keeps at least half of PPO's throughput.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from _common import table, write_results

import labkit  # noqa: F401
from labkit.experiments.rewards import BASELINES, N_ENVS, PPO_SETTINGS, REWARDS, SUCCESS_BONUS, run_reward
from labkit.stats import summarize
from labkit.sweep import BACKENDS, run

QUICK_PPO = ["diffusion"]
QUICK_PROBE = ["video_prediction", "diffusion_likelihood"]  # trained and probed, no PPO, in --quick


def _stats(values: list[float]) -> dict:
    s = summarize(values)
    return {k: s[k] for k in ("n", "mean", "iqm", "iqm_ci", "min", "max")} if s["n"] else s


def _label(r: dict) -> str:
    return f"{r['reward']}_potential" if r["mode"] == "potential" else r["reward"]


def summarise(records: list[dict], env_steps: int) -> dict:
    """Per reward: success and steps-to-90% stats over seeds, correlations, cost, throughput ratio."""
    by: dict[str, list[dict]] = {}
    for r in records:
        by.setdefault(_label(r), []).append(r)
    plain = next((r["throughput"]["steps_per_cpu_second"] for r in by.get("dense", []) if "throughput" in r), None)
    out: dict = {}
    for name, rs in by.items():
        row: dict = {}
        ppo = [r["ppo"] for r in rs if "ppo" in r]
        if ppo:
            row["final_success"] = _stats([p["final_success"] for p in ppo])
            row["success_per_seed"] = [p["final_success"] for p in ppo]
            row["steps_to_90_per_seed"] = [p["steps_to_90"] for p in ppo]
            row["steps_to_90_never_as_budget"] = _stats([p["steps_to_90"] or env_steps for p in ppo])
            row["ppo_cpu_seconds_per_seed"] = [p["cpu_seconds"] for p in ppo]
        if "correlation" in rs[0]:
            for key in ("per_step", "per_episode"):
                vals = [r["correlation"].get(key, float("nan")) for r in rs]
                row[f"pearson_{key}"] = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
                row[f"pearson_{key}_stats"] = _stats(vals)
            row["reward_cpu_ms_per_env_step"] = float(np.mean([r["cost"]["cpu_ms_per_env_step"] for r in rs]))
            row["train_cpu_seconds"] = float(np.mean([r["train_cpu_seconds"] for r in rs]))
        tp = next((r["throughput"] for r in rs if "throughput" in r), None)
        if tp is not None:
            row["ppo_steps_per_cpu_second"] = tp["steps_per_cpu_second"]
            if plain:
                row["throughput_ratio"] = tp["steps_per_cpu_second"] / plain
        out[name] = row
    return out


def targets(summary: dict) -> dict:
    """The issue's targets, from means over seeds (success at the budget; env steps to 90%, never = budget)."""
    met: dict = {}
    if "dense" not in summary or "sparse" not in summary:
        return met
    dense, sparse = summary["dense"]["final_success"]["mean"], summary["sparse"]["final_success"]["mean"]
    for name in ("diffusion", "video_prediction"):
        row = summary.get(name, {})
        if "final_success" in row:
            s = row["final_success"]["mean"]
            met[f"{name}: >= 80% of dense success"] = bool(s >= 0.8 * dense)
            met[f"{name}: beats sparse"] = bool(s > sparse)
            fast, slow = (
                row["steps_to_90_never_as_budget"]["mean"],
                summary["sparse"]["steps_to_90_never_as_budget"]["mean"],
            )
            met[f"{name}: reaches 90% success in fewer env steps than sparse"] = bool(fast < slow)
        if "throughput_ratio" in row:
            met[f"{name}: keeps >= half of PPO's throughput"] = bool(row["throughput_ratio"] >= 0.5)
    return met


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 seed; PPO on the diffusion reward, dense and sparse")
    ap.add_argument("--seeds", type=int, default=None, help="number of seeds (default 3, quick 1)")
    ap.add_argument("--steps", type=int, default=30_000, help="PPO env steps per run")
    ap.add_argument("--rewards", nargs="+", choices=list(REWARDS), default=None, help="learned rewards to run PPO on")
    ap.add_argument("--backend", choices=BACKENDS, default="sequential", help="labkit.sweep backend")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--out", default=None, help="a folder keeping every finished trial (resumable)")
    ap.add_argument("--smoke", action="store_true", help="tiny budgets to test the script (numbers mean nothing)")
    args = ap.parse_args(argv)
    seeds = list(range(args.seeds or (1 if args.quick else 3)))
    ppo_rewards = args.rewards or (QUICK_PPO if args.quick else list(REWARDS))
    steps = 1_024 if args.smoke else args.steps
    common = {"env_steps": steps, "n_heldout": 1 if args.smoke else 6 if args.quick else 10}
    if args.smoke:
        common.update(smoke=True, eval_every=512)
    settings = [{"reward": r, **common} for r in [*ppo_rewards, *BASELINES]]
    if "vlm" in ppo_rewards:
        settings.append({"reward": "vlm", "mode": "potential", **common})
    if args.quick:
        settings += [{"reward": r, "train_ppo": False, **common} for r in QUICK_PROBE]
    # PPO's throughput with each reward in the loop, once (seed 0), in trials of their own
    speed = [
        {**common, "reward": r, "train_ppo": False, "n_heldout": 1, "throughput_steps": 1_024 if args.smoke else 4_096}
        for r in [*ppo_rewards, "dense"]
    ]
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    kw: dict = dict(backend=args.backend, workers=args.workers, out=args.out, progress=False)
    trials = run(run_reward, settings, seeds, **kw)
    speeds = run(run_reward, speed, [0], **kw)
    failed = trials.failed + speeds.failed
    if failed:
        raise SystemExit(f"{len(failed)} trials failed: {failed[0]['error']}")
    main_records = trials.records
    for r in speeds.records:  # attach seed 0's throughput to the reward's rows
        twin = next(m for m in main_records if m["reward"] == r["reward"] and m["seed"] == 0 and m["mode"] == "replace")
        twin["throughput"] = r["throughput"]
    summary = summarise(main_records, steps)
    runs = {_label(r) if _label(r) not in BASELINES else BASELINES[_label(r)]: [] for r in main_records if "ppo" in r}
    for r in main_records:
        if "ppo" in r:
            key = BASELINES.get(_label(r), _label(r))
            runs[key].append({"seed": r["seed"], "steps": r["ppo"]["steps"], "success": r["ppo"]["success"]})
    out = {
        "quick": args.quick,
        "seeds": seeds,
        "settings": {
            "env_steps": args.steps,
            "n_envs": N_ENVS,
            "ppo": PPO_SETTINGS,
            "success_bonus": SUCCESS_BONUS,
            "backend": args.backend,
        },
        "summary": summary,
        "targets": targets(summary),
        "runs": runs,
        "per_seed": main_records,
        "total": {
            "wall_s": round(time.perf_counter() - start_wall, 1),
            "cpu_s": round(time.process_time() - start_cpu, 1),
        },
    }
    rows = [
        {
            "reward": name,
            "success IQM": row.get("final_success", {}).get("iqm", float("nan")),
            "steps to 90%": row.get("steps_to_90_never_as_budget", {}).get("mean", float("nan")),
            "r per step": row.get("pearson_per_step", float("nan")),
            "r per episode": row.get("pearson_per_episode", float("nan")),
            "ms/env step": row.get("reward_cpu_ms_per_env_step", float("nan")),
            "throughput ratio": row.get("throughput_ratio", float("nan")),
        }
        for name, row in summary.items()
    ]
    print(table(rows, list(rows[0])))
    for k, v in out["targets"].items():
        print(f"  [{'x' if v else ' '}] {k}")
    name = "rewards" + ("_smoke" if args.smoke else "_quick" if args.quick else "")
    path = write_results(name, out)
    print(f"total {out['total']} -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
