"""Benchmark: offline RL with diffusion (IDQL, Diffusion-QL) against BC, and DPPO fine-tuning, on TwoRoutes.

Offline: Gaussian BC, diffusion BC, IDQL (diffusion BC + IQL critic, softmax selection) and
Diffusion-QL, all trained on the shipped mixed-quality data (data/two_routes_mixed.npz) with
``labkit.experiments.offline.train_offline_suite``; success rate and normalised return (0 = the data's failing
episodes, 1 = its experts) over evaluation episodes with fixed start states.

DPPO: an under-trained diffusion policy (``pretrain_diffusion``: 200 BC iterations on 100 expert
demos) fine-tuned with ``finetune_ppo``; success before and after (evaluation episodes), env steps,
wall time, and env steps / seconds until the training success (last 100 episodes) first reached 90%.

    python benchmarks/offline_and_dppo.py            # 3 seeds each, full budget (~12 min on 2 cores)
    python benchmarks/offline_and_dppo.py --quick    # 1 seed, small budgets (~2 min)
    python benchmarks/offline_and_dppo.py --only dppo
    python benchmarks/offline_and_dppo.py --only sweep   # notebook 10's cached runs (~40 min, loaded 2 cores)

Results go to benchmarks/results/offline_and_dppo[_quick].json. Seeds run through labkit.sweep
(--backend process|ray, --workers, --address, --out to resume); tables give means, IQMs and 95% bootstrap CIs.
``--only sweep`` writes
offline_and_dppo_sweep.json (after every run, so a partial sweep is usable): for the same seeds,
DPPO fine-tuning the last 1, 3 or all 10 denoising steps, DPPO with one ratio per chain
(``logprob_mode="chain"``) and with ``min_std=0.02``, and the two baselines of notebook 10 (Gaussian
PPO, residual PPO with SB3 on the frozen diffusion policy), each with its training history, success
before and after, env steps and seconds. Notebook 10's slider and its exercises' answers read it.
Targets: an offline-RL-with-diffusion method beats both BC baselines (success and normalised
return, mean over seeds); DPPO takes the policy from <= 50% to >= 90% success within 10 minutes of CPU.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import table, write_results

from labkit import evaluate, load
from labkit.experiments.dppo import DPPO_ACTOR, dppo_config, pretrain_diffusion, pretrain_gaussian, run_dppo
from labkit.experiments.offline import OFFLINE_METHODS, run_offline_suite
from labkit.finetune import DiffusionPPOActor, GaussianPPOActor, finetune_ppo, make_residual_env
from labkit.stats import summarize
from labkit.sweep import BACKENDS, run

ENV_ID = "labkit/TwoRoutes-v0"
OFFLINE = list(OFFLINE_METHODS)


def _sweep(fn, settings: dict, seeds, args):
    result = run(fn, [settings], seeds=seeds, backend=args.backend, workers=args.workers, address=args.address,
                 out=args.out, progress=False)  # fmt: skip
    if result.failed:
        raise SystemExit(f"{len(result.failed)} trials failed: {result.failed[0]['error']}")
    return result.records


def run_offline(seeds, budget: dict, episodes: int, args) -> tuple[list[dict], list[dict], dict]:
    records = _sweep(run_offline_suite, {**budget, "episodes": episodes}, seeds, args)
    rows = []
    for r in records:
        for name in OFFLINE:
            rows.append(
                {
                    "method": name,
                    "seed": r["seed"],
                    "success": r[f"{name}/success"],
                    "normalised return": r[f"{name}/normalised return"],
                    "return": r[f"{name}/return"],
                    "train s": r[f"{name}/train s"],
                }
            )
            print(
                f"offline seed {r['seed']} {name:>13}: success {rows[-1]['success']:.0%}, "
                f"normalised return {rows[-1]['normalised return']:.2f}, train {rows[-1]['train s']:.0f} s",
                flush=True,
            )
    summary = []
    for name in OFFLINE:
        mine = [r for r in rows if r["method"] == name]
        st = summarize([r["success"] for r in mine])
        summary.append(
            {
                "method": name,
                **{k: statistics.mean(r[k] for r in mine) for k in ("success", "normalised return", "train s")},
                "success min": min(r["success"] for r in mine),
                "success max": max(r["success"] for r in mine),
                "success IQM": st["iqm"],
                "success CI low": st["iqm_ci"][0],
                "success CI high": st["iqm_ci"][1],
            }
        )
    by = {r["method"]: r for r in summary}
    bc_success = max(by["Gaussian BC"]["success"], by["diffusion BC"]["success"])
    bc_return = max(by["Gaussian BC"]["normalised return"], by["diffusion BC"]["normalised return"])
    winners = [
        m for m in ("IDQL", "Diffusion-QL") if by[m]["success"] > bc_success and by[m]["normalised return"] > bc_return
    ]
    checks = {"an offline-RL diffusion method beats both BC baselines (success and normalised return)": bool(winners)}
    return rows, summary, {"checks": checks, "winners": winners}


def run_dppo_seeds(seeds, budget: dict, episodes: int, pretrain_iterations: int, args) -> tuple[list[dict], dict]:
    settings = {**budget, "episodes": episodes, "pretrain_iterations": pretrain_iterations}
    rows = []
    for r in _sweep(run_dppo, settings, seeds, args):
        rows.append(
            {
                "seed": r["seed"],
                "before": r["before"],
                "after": r["after"],
                "env steps": r["env_steps"],
                "seconds": r["train_seconds"],
                "steps to 90% (train)": r["steps_to_90"],
                "s to 90% (train)": r["seconds_to_90"],
                "history": r["history"],
            }
        )
        print(
            f"DPPO seed {r['seed']}: {r['before']:.0%} -> {r['after']:.0%} in {r['env_steps']} env steps, "
            f"{r['train_seconds']:.0f} s",
            flush=True,
        )
    stats = {k: summarize([r[k] for r in rows]) for k in ("before", "after")}
    checks = {
        "pre-trained policy <= 50% success (mean)": statistics.mean(r["before"] for r in rows) <= 0.5,
        "fine-tuned >= 90% success (mean)": statistics.mean(r["after"] for r in rows) >= 0.9,
        "within 10 minutes of CPU per run": max(r["seconds"] for r in rows) <= 600,
    }
    return rows, {"checks": checks, "stats": stats}


#: the sweep's runs: name -> (kind, DiffusionPPOActor overrides, dppo_config overrides)
SWEEP: dict[str, tuple[str, dict, dict]] = {
    "DPPO, last 1 step": ("dppo", {"ft_denoising_steps": 1}, {}),
    "DPPO, last 3 steps": ("dppo", {"ft_denoising_steps": 3}, {}),
    "DPPO, all 10 steps": ("dppo", {}, {}),
    "Gaussian PPO": ("gaussian", {}, {}),
    "residual PPO (SB3)": ("residual", {}, {}),
    "DPPO, one ratio per chain": ("dppo", {}, {"logprob_mode": "chain"}),
    "DPPO, min_std 0.02": ("dppo", {"min_std": 0.02}, {}),
}
_KEEP = ("iteration", "env_steps", "seconds", "success_rate", "mean_return", "episodes", "approx_kl", "clip_frac")


def _residual(prior, seed: int, budget: dict, episodes: int) -> tuple[list[dict], float, float, int, float]:
    """SB3's PPO on a bounded correction to the frozen ``prior`` (notebook 07's residual RL)."""
    import time

    from stable_baselines3 import PPO

    env = make_residual_env(ENV_ID, prior, n_envs=8, scale=0.3, seed=seed, sampler="ddpm", num_inference_steps=10)
    t0 = time.perf_counter()
    model = PPO("MlpPolicy", env, n_steps=128, batch_size=256, seed=seed, verbose=0)
    model.learn(budget["total_env_steps"])
    seconds = time.perf_counter() - t0
    after = evaluate(model, ENV_ID, episodes, seed=1000, generator_seed=seed, progress=False)
    return [], float(after.success_rate), float(after.returns.mean()), budget["total_env_steps"], seconds


def run_sweep(seeds, budget: dict, episodes: int, names: list[str], out: str) -> dict:
    """Every run of ``SWEEP`` named in ``names`` over ``seeds``; the results file is rewritten after each run."""
    demos = load("two_routes_demos")
    payload: dict = {"seeds": list(seeds), "episodes": episodes, "dppo_budget": budget, "pretrain_iterations": 200}
    runs: dict[str, list[dict]] = {}
    priors = {s: pretrain_diffusion(demos, iterations=200, seed=s, progress=False) for s in seeds}
    gaussians: dict = {}
    for name in names:
        kind, actor_kw, cfg_kw = SWEEP[name]
        for seed in seeds:
            if kind == "residual":
                prior = priors[seed]
                before = evaluate(prior, ENV_ID, episodes, seed=1000, generator_seed=seed, progress=False)
                history, after_s, after_r, steps, secs = _residual(prior, seed, budget, episodes)
            else:
                if kind == "gaussian":
                    if seed not in gaussians:
                        gaussians[seed] = pretrain_gaussian(demos, iterations=200, seed=seed, progress=False)
                    actor = GaussianPPOActor(copy.deepcopy(gaussians[seed]))
                else:
                    actor = DiffusionPPOActor(copy.deepcopy(priors[seed]), **{**DPPO_ACTOR, **actor_kw})
                before = evaluate(actor, ENV_ID, episodes, seed=1000, generator_seed=seed, progress=False)
                res = finetune_ppo(actor, ENV_ID, dppo_config(seed=seed, **budget, **cfg_kw), progress=False)
                after = evaluate(actor, ENV_ID, episodes, seed=1000, generator_seed=seed, progress=False)
                history = [{k: h[k] for k in _KEEP} for h in res.history]
                after_s, after_r = after.success_rate, float(after.returns.mean())
                steps, secs = res.env_steps, res.seconds
            runs.setdefault(name, []).append(
                {
                    "seed": seed,
                    "before": float(before.success_rate),
                    "after": float(after_s),
                    "return before": float(before.returns.mean()),
                    "return after": after_r,
                    "env steps": int(steps),
                    "seconds": float(secs),
                    "history": history,
                }
            )
            print(
                f"{name} seed {seed}: {before.success_rate:.0%} -> {after_s:.0%} in {steps} env steps, {secs:.0f} s",
                flush=True,
            )
            write_results(out, {**payload, "runs": runs})
    return runs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 seed, small budgets (< 3 minutes)")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--episodes", type=int, default=None, help="evaluation episodes per policy and seed")
    ap.add_argument("--only", choices=["offline", "dppo", "sweep"], default=None)
    ap.add_argument("--runs", default=None, help=f"sweep: comma-separated subset of {list(SWEEP)}")
    ap.add_argument(
        "--backend", choices=BACKENDS, default="sequential", help="labkit.sweep backend (timings: sequential)"
    )
    ap.add_argument("--workers", type=int, default=None, help="parallel trials (process / ray backends)")
    ap.add_argument("--address", default=None, help="a Ray cluster to join (default RAY_ADDRESS or a local Ray)")
    ap.add_argument("--out", default=None, help="a folder that keeps finished trials (a rerun resumes)")
    args = ap.parse_args(argv)
    seeds = list(range(args.seeds or (1 if args.quick else 3)))
    episodes = args.episodes or (30 if args.quick else 100)
    offline_budget = (
        dict(bc_iterations=1000, iql_iterations=1500, dql_iterations=200)
        if args.quick
        else dict(bc_iterations=1500, iql_iterations=1500, dql_iterations=600)
    )
    dppo_budget = (
        dict(total_env_steps=16_000, max_seconds=75) if args.quick else dict(total_env_steps=24_000, max_seconds=600)
    )
    payload: dict = {"seeds": seeds, "episodes": episodes, "offline_budget": offline_budget, "dppo_budget": dppo_budget}
    checks: dict = {}
    if args.only in (None, "offline"):
        rows, summary, extra = run_offline(seeds, offline_budget, episodes, args)
        payload["offline"] = {"per_seed": rows, "summary": summary, **extra}
        checks.update(extra["checks"])
        print(f"\nOffline RL on two_routes_mixed, {len(seeds)} seed(s), {episodes} episodes each (mean over seeds)")
        cols = ["method", "success", "success IQM", "success CI low", "success CI high", "normalised return", "train s"]
        print(table(summary, cols))
    if args.only in (None, "dppo"):
        rows, extra = run_dppo_seeds(seeds, dppo_budget, episodes, 200, args)
        payload["dppo"] = {"per_seed": rows, **extra}
        checks.update(extra["checks"])
        print(f"\nDPPO on TwoRoutes, {len(seeds)} seed(s), {episodes} evaluation episodes before and after")
        print(
            table(
                [{k: v for k, v in r.items() if k != "history"} for r in rows],
                ["seed", "before", "after", "env steps", "seconds", "steps to 90% (train)", "s to 90% (train)"],
            )
        )
    print()
    for k, v in checks.items():
        print(f"  [{'x' if v else ' '}] {k}")
    payload["targets"] = checks
    path = write_results(
        "offline_and_dppo" + ("_quick" if args.quick else "") + (f"_{args.only}" if args.only else ""), payload
    )
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
