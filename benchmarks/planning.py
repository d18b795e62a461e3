"""Benchmark of notebook 06: Diffuser (tracked states vs its own actions, with and without guidance, route
balance, plans/s), Decision Diffuser (conditions and composition), SayCan (Say only / Can only / SayCan),
ELLM vs RND vs no bonus (coverage and success).

    python benchmarks/planning.py --quick     # 1 rollout seed, 6k PPO steps per exploration run (< 3 min idle)
    python benchmarks/planning.py             # 3 seeds, longer runs, + the tracked/own-actions gap vs training

Seeds run through labkit.sweep (--backend/--workers/--address/--out); per-seed values, IQM with 95%
bootstrap CIs, wall and CPU seconds and the load go to benchmarks/results/planning[_quick].json.
The language model answers from the shipped reply cache (data/planning_llm_cache.json); --llm model runs
the model (LABKIT_LLM, default the local SmolLM2) on prompts the cache lacks.
Targets (issue 14): unguided Diffuser plans keep both routes (each >= 35%); guided plans reach the goal >= 90%
of the time when tracked; SayCan beats both ablations.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import table, write_results

import labkit  # noqa: F401
from labkit.experiments import planning_dd as XDD
from labkit.experiments import planning_diffusion as XD
from labkit.experiments import planning_explore as XE
from labkit.experiments import planning_language as XL
from labkit.stats import summarize
from labkit.sweep import BACKENDS, grid, run


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(t: tuple[float, float]) -> dict:
    return {
        "wall_s": round(time.perf_counter() - t[0], 2),
        "cpu_s": round(time.process_time() - t[1], 2),
        "load": [round(x, 2) for x in os.getloadavg()],
    }


def _sweep(fn, settings, seeds, args):
    res = run(fn, settings, seeds=seeds, backend=args.backend, workers=args.workers, address=args.address,
              out=args.out, progress=False)  # fmt: skip
    if res.failed:
        raise SystemExit(f"{len(res.failed)} trials of {fn.__name__} failed: {res.failed[0].get('error')}")
    return res.ok


def _stats(records, keys, by):
    out = {}
    for r in records:
        out.setdefault(" / ".join(str(r[k]) for k in by), []).append(r)
    return {name: {k: summarize([r[k] for r in rs]) for k in keys} for name, rs in out.items()}


def diffuser_section(quick: bool, seeds: list[int], args) -> dict:
    t = _clock()
    model, value, meta = XD.load_diffuser()
    balance = _sweep(XD.run_route_balance, [{"n_plans": 200}], [0, 1, 2], args)  # 3 sampling seeds
    scale = XD.GUIDED["scale"]
    cells = grid(env=["TwoRoutes-v0", "TwoRoutesBlocked-v0"], mode=["track", "actions"], scale=[0.0, scale])
    rollouts = _sweep(XD.run_diffuser_rollouts, [dict(c, n_episodes=30 if quick else 100) for c in cells], seeds, args)
    sweep = XD.guidance_sweep(model, value, scales=(0.0, 0.3, 1.0, 3.0, 10.0, 30.0), t_stopgrads=(0, 10, 15, 18))
    out = {
        "model_meta": meta,
        "guidance": XD.GUIDED,
        "route_balance": balance,
        "rollouts": rollouts,
        "rollout_stats": _stats(rollouts, ["success", "left_plan_share"], ["env", "scale", "mode"]),
        "guidance_sweep": {
            f"scale={s:g}|t_stopgrad={ts}": {"routes": v["routes"], "value": round(v["value"], 3)}
            for (s, ts), v in sweep.items()
        },
        "plans_per_second": {
            "unguided": XD.plans_per_second(model),
            "guided": XD.plans_per_second(model, value=value),
        },
    }
    if not quick:  # route balance and the tracked-vs-own-actions gap of freshly trained models, 2 training seeds
        out["balance_vs_training"] = _sweep(
            XD.run_route_balance, grid(train_iterations=[500, 1500, 4000], n_plans=[200]), [0, 1], args
        )
    out["time"] = _since(t)
    return out


def dd_section(quick: bool, seeds: list[int], args) -> dict:
    t = _clock()
    _, meta = XDD.load_decision_diffuser()
    recs = _sweep(
        XDD.run_dd_condition, grid(condition=list(XDD.DD_CONDITIONS), n_episodes=[20 if quick else 50]), seeds, args
    )
    keys = ["success", "left_share", "mean_speed", "mean_length"]
    return {"model_meta": meta, "conditions": recs, "stats": _stats(recs, keys, ["condition"]), "time": _since(t)}


def saycan_section(quick: bool, llm: str) -> dict:
    t = _clock()
    lib = XL.load_skill_library()
    out: dict = {"skills": XL.skill_success_table(lib, n=120 if quick else 600)}
    clients = {"SmolLM2 (cached)": XL.language_client(offline=llm == "cache"), "keyword stand-in": XL.keyword_client()}
    for name, client in clients.items():
        t1 = _clock()
        res = XL.saycan_suite(client, lib)
        out[name] = {
            mode: {
                "success_rate": r["success_rate"],
                "episodes": [
                    {"instruction": lg.instruction, "barrier": lg.barrier, "choices": lg.choices, "success": lg.success}
                    for lg in r["logs"]
                ],
            }
            for mode, r in res.items()
        }
        out[name]["client"] = client.name
        out[name]["time"] = _since(t1)
    out["time"] = _since(t)
    return out


def ellm_section(quick: bool, seeds: list[int], args) -> dict:
    t = _clock()
    steps = 6_000 if quick else 40_000
    recs = _sweep(XE.run_exploration, grid(method=list(XE.METHODS), steps=[steps], llm=[args.llm]), seeds, args)
    return {"steps": steps, "runs": recs, "stats": _stats(recs, ["coverage", "success"], ["method"]), "time": _since(t)}


def targets(res: dict) -> dict:
    t: dict = {}
    d = res.get("diffuser")
    if d:
        left, right = (
            min(b["left_share"] for b in d["route_balance"]),
            min(b["right_share"] for b in d["route_balance"]),
        )
        t["unguided plans keep both routes (each >= 35%, min over 3 sampling seeds)"] = {
            "left": left, "right": right, "met": min(left, right) >= 0.35
        }  # fmt: skip
        for env in ("TwoRoutes-v0", "TwoRoutesBlocked-v0"):
            st = d["rollout_stats"][f"{env} / {d['guidance']['scale']} / track"]["success"]
            t[f"guided + tracked success on {env} >= 90%"] = {"mean": st["mean"], "met": st["mean"] >= 0.9}
    s = res.get("saycan")
    if s:
        r = s["SmolLM2 (cached)"]
        rates = {m: r[m]["success_rate"] for m in ("say", "can", "saycan")}
        t["SayCan beats Say only and Can only (SmolLM2)"] = {
            **rates,
            "met": rates["saycan"] > max(rates["say"], rates["can"]),
        }
    return t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 rollout seed, short exploration runs (< 3 minutes idle)")
    ap.add_argument("--seeds", type=int, default=None, help="seeds of the rollouts and exploration runs")
    ap.add_argument("--only", default="diffuser,dd,saycan,ellm", help="comma-separated sections")
    ap.add_argument("--llm", choices=("cache", "model"), default="cache", help="cached replies only, or run the model")
    ap.add_argument("--backend", choices=BACKENDS, default="sequential", help="labkit.sweep backend")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--address", default=None, help="Ray cluster address (backend ray)")
    ap.add_argument("--out", default=None, help="folder keeping finished trials (resumable)")
    args = ap.parse_args(argv)
    seeds = list(range(args.seeds or (1 if args.quick else 3)))
    explore_seeds = list(range(args.seeds or 3))
    parts = args.only.split(",")
    t = _clock()
    res: dict = {"quick": args.quick, "seeds": seeds, "llm": args.llm}
    if "diffuser" in parts:
        res["diffuser"] = diffuser_section(args.quick, seeds, args)
    if "dd" in parts:
        res["decision_diffuser"] = dd_section(args.quick, seeds, args)
    if "saycan" in parts:
        res["saycan"] = saycan_section(args.quick, args.llm)
    if "ellm" in parts:
        res["ellm"] = ellm_section(args.quick, explore_seeds, args)
    res["targets"] = targets(res)
    res["table"] = summary_rows(res)
    res["time"] = _since(t)
    print(table(res["table"], ["part", "setting", "metric", "mean", "IQM [95% CI]", "n"]))
    for k, v in res["targets"].items():
        print(f"  [{'x' if v['met'] else ' '}] {k}: { {a: b for a, b in v.items() if a != 'met'} }")
    path = write_results(
        "planning"
        + ("_quick" if args.quick else "")
        + ("" if parts == ["diffuser", "dd", "saycan", "ellm"] else "_partial"),
        res,
    )
    print(f"\nresults: {path}; {res['time']}")
    return 0


def summary_rows(res: dict) -> list[dict]:
    """One row per (part, setting, metric): mean, IQM with its CI, number of seeds."""
    rows = []
    sections = [
        ("Diffuser", res.get("diffuser", {}).get("rollout_stats", {})),
        ("Decision Diffuser", res.get("decision_diffuser", {}).get("stats", {})),
        ("ELLM / RND", res.get("ellm", {}).get("stats", {})),
    ]
    for part, stats in sections:
        for setting, metrics in stats.items():
            for metric, s in metrics.items():
                ci = f"{s['iqm']:.3g} [{s['iqm_ci'][0]:.3g}, {s['iqm_ci'][1]:.3g}]" if s.get("n") else ""
                rows.append(
                    {
                        "part": part,
                        "setting": setting,
                        "metric": metric,
                        "mean": s.get("mean"),
                        "IQM [95% CI]": ci,
                        "n": s.get("n"),
                    }
                )
    for client, r in ((k, v) for k, v in res.get("saycan", {}).items() if isinstance(v, dict) and "saycan" in v):
        for mode in ("say", "can", "saycan"):
            rows.append(
                {
                    "part": "SayCan",
                    "setting": f"{client} / {mode}",
                    "metric": "success",
                    "mean": r[mode]["success_rate"],
                    "n": len(r[mode]["episodes"]),
                }
            )
    return rows


if __name__ == "__main__":
    sys.exit(main())
