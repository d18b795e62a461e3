"""Sample efficiency of SB3 PPO from scratch vs residual PPO vs DSRL with a frozen diffusion prior.

    python benchmarks/priors_sample_efficiency.py [--task blocked|pushblock] [--quick] [--seeds 3] [--steps N]

Tasks (``labkit.experiments.priors.TASKS``): ``blocked`` (default), the shipped TwoRoutes prior in
``labkit/TwoRoutesBlocked-v0`` (right route closed, reward 1 on success only), and ``pushblock``, the
shipped PushBlock prior in ``labkit/PushBlock-v0``. For each method and seed,
``labkit.experiments.priors.train_with_prior`` trains PPO with the task's settings for a fixed budget of
*environment* steps (a DSRL agent step executes a chunk of Ta = 4 env steps and counts as 4) and
evaluates the agent every ``--eval-every`` env steps on the same 20 start states (and the same
prior draws). Reported per method (mean over seeds):

- env steps to reach 90% success (``--threshold``); a seed that never reaches it counts as the whole
  budget, so a mean over such seeds is a lower bound ("at least"); the median is printed too, as one
  lucky or unlucky seed moves a mean of three a lot when the reward is sparse;
- start, final and best success; training wall time (evaluations excluded);
- env steps per second of PPO with the prior in the loop against the same PPO (same settings) on the
  plain env, without the prior.

Targets from the issue: residual or DSRL reaches the threshold in at most a fifth of the steps PPO
needs from scratch; throughput with the prior in the loop at least half of plain PPO's.
The machine may be shared: wall times are noisy and the load average is recorded.
Writes benchmarks/results/priors_sample_efficiency_<task>[_quick].json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from _common import table, write_results  # noqa: E402
from stable_baselines3 import PPO  # noqa: E402

from labkit.experiments.priors import METHODS, PPO_DEFAULTS, TASKS, PriorTask, make_method_env, run_method  # noqa: E402
from labkit.stats import summarize  # noqa: E402
from labkit.sweep import BACKENDS, run  # noqa: E402


def throughput(
    task: PriorTask, prior, method: str, env_steps: int, with_prior: bool = True, settings_of: str | None = None
) -> dict[str, float]:
    """Env steps per second of PPO training alone (no evaluations), after a short warm-up.

    :param with_prior: False: the same PPO (``settings_of``'s settings, default ``method``'s) on the
        plain env, i.e. "the same agent without the prior".
    """
    settings_of = settings_of or method
    kw = task.kwargs(settings_of)
    ppo = {**PPO_DEFAULTS[settings_of], **kw["ppo_kwargs"]}
    venv = make_method_env(
        method if with_prior else "scratch",
        task.env_id,
        prior,
        8,
        seed=0,
        scale=kw.get("scale", 0.3),
        bound=kw.get("bound", 2.0),
        check_env_id=task.check_env_id,
    )
    model = PPO("MlpPolicy", venv, seed=0, **ppo)
    per_agent_step = prior.config.n_action_steps if method == "dsrl" and with_prior else 1
    agent_steps = env_steps // per_agent_step
    model.learn(max(ppo["n_steps"] * 4, 512))  # warm-up: a few rollouts + updates
    start = time.perf_counter()
    model.learn(agent_steps, reset_num_timesteps=False)
    secs = time.perf_counter() - start
    return {"env_steps_per_s": agent_steps * per_agent_step / secs, "agent_steps_per_s": agent_steps / secs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), default="blocked", help="which TASKS entry (default: blocked)")
    parser.add_argument("--quick", action="store_true", help="small budgets, under 3 minutes")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per method (default 3; quick: 2)")
    parser.add_argument("--steps", type=int, default=None, help="env-step budget per run")
    parser.add_argument("--eval-every", type=int, default=None)
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--repeats", type=int, default=3, help="throughput: median of this many alternating runs")
    parser.add_argument("--backend", choices=BACKENDS, default="sequential", help="labkit.sweep backend for the runs")
    parser.add_argument("--workers", type=int, default=None, help="parallel workers (process / local ray)")
    parser.add_argument("--address", default=None, help="a Ray cluster to join (default: RAY_ADDRESS or local)")
    parser.add_argument("--out", default=None, help="keep finished runs here and resume from them")
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = args.seeds or (2 if args.quick else 3)
    task = TASKS[args.task]
    steps = args.steps or (12_000 if args.quick else task.env_steps)
    eval_every = args.eval_every or (2_000 if args.quick else task.eval_every)
    n_eval = 10 if args.quick else 20
    load = os.getloadavg()[0]
    prior = task.load_prior()
    t_all = time.perf_counter()

    common = dict(task=args.task, budget=steps, eval_every=eval_every, n_eval_episodes=n_eval, threshold=args.threshold)
    # Every trial's seed is part of the trial, so any backend gives the same numbers (--backend ray spreads
    # the runs over a cluster; wall times per run then depend on where they ran).
    sweep = run(
        run_method,
        [dict(method=m, **common) for m in METHODS],
        seeds=seeds,
        backend=args.backend,
        workers=args.workers,
        address=args.address,
        out=args.out,
        progress=False,
    )
    if sweep.failed:
        raise SystemExit(f"{len(sweep.failed)} trials failed: {sweep.failed[0]['error']}")
    runs = [{k: v for k, v in r.items() if k not in ("key", "status", *common)} for r in sweep.records]
    for r in runs:
        print(
            f"{r['method']:9s} seed {r['seed']}: success {r['start_success']:.0%} -> {r['final_success']:.0%} "
            f"(best {r['best_success']:.0%}) in {r['env_steps']} env steps, {r['train_seconds']:.0f} s",
            flush=True,
        )

    tp_steps = 2_048 if args.quick else 16_384
    # "The same agent without the prior": PPO with each method's own settings on the plain env.
    # Wall-clock rates move with the machine's load: alternate the cases and keep the median of repeats.
    cases = {("prior", m): dict(method=m) for m in METHODS}
    cases |= {("plain", m): dict(method=m, with_prior=False) for m in ("residual", "dsrl")}
    rates = {k: [] for k in cases}
    for _ in range(args.repeats):
        for key, kw in cases.items():
            rates[key].append(throughput(task, prior, env_steps=tp_steps, **kw))

    def median(key):
        return {f: statistics.median(r[f] for r in rates[key]) for f in ("env_steps_per_s", "agent_steps_per_s")}

    speed = {m: median(("prior", m)) for m in METHODS}
    plain = {m: median(("plain", m)) for m in ("residual", "dsrl")} | {"scratch": speed["scratch"]}

    def to_threshold(method):
        """Per seed: env steps to the threshold, the budget for a seed that never reached it."""
        return [
            r["steps_to_threshold"] if r["steps_to_threshold"] is not None else steps
            for r in runs
            if r["method"] == method
        ]

    def reached(method):
        return sum(r["steps_to_threshold"] is not None for r in runs if r["method"] == method)

    def interval(values, fmt):
        st = summarize(values)
        return f"{fmt(st['iqm'])} [{fmt(st['iqm_ci'][0])}, {fmt(st['iqm_ci'][1])}]"

    pct, num = (lambda v: f"{v:.0%}"), (lambda v: f"{v:,.0f}")
    rows, stats = [], {}
    for method, label in METHODS.items():
        mine = [r for r in runs if r["method"] == method]
        n_reached, mean_steps = reached(method), statistics.mean(to_threshold(method))
        stats[method] = {
            key: summarize([r[key] for r in mine])
            for key in ("start_success", "final_success", "best_success", "env_steps_to_threshold")
        }
        rows.append(
            {
                "method": label,
                "seeds": len(mine),
                "start success": f"{statistics.mean(r['start_success'] for r in mine):.0%}",
                "final success IQM [95% CI]": interval([r["final_success"] for r in mine], pct),
                "best success IQM [95% CI]": interval([r["best_success"] for r in mine], pct),
                f"env steps to {args.threshold:.0%}: mean": (
                    f"not in {steps:,}"
                    if n_reached == 0
                    else f"{'' if n_reached == len(mine) else '>= '}{mean_steps:,.0f} ({n_reached}/{len(mine)} seeds)"
                ),
                "IQM [95% CI] (never = budget)": interval(to_threshold(method), num),
                "train s/run": round(statistics.mean(r["train_seconds"] for r in mine), 1),
                "env steps/s": round(speed[method]["env_steps_per_s"]),
                "x plain": round(speed[method]["env_steps_per_s"] / plain[method]["env_steps_per_s"], 2),
            }
        )
    columns = list(rows[0])
    print()
    print(table(rows, columns))

    # Scratch's mean counts a seed that never got there as the budget: a lower bound on what it needs.
    scratch, scratch_exact = statistics.mean(to_threshold("scratch")), reached("scratch") == seeds
    # The median is less swayed by one seed that never finds a sparse reward (it counts as the budget).
    medians = {m: statistics.median(to_threshold(m)) for m in METHODS}
    median_note = ", ".join(f"{m} {v:,.0f}" for m, v in medians.items())
    print(f"median env steps to {args.threshold:.0%} per method (never = budget): {median_note}")
    fast = {m: statistics.mean(to_threshold(m)) for m in ("residual", "dsrl") if reached(m) == seeds}
    if fast:
        best = min(fast, key=fast.get)
        ratio = fast[best] / scratch
        # With censored scratch seeds the true ratio is at most `ratio`: a small one decides, a large one does not.
        sample_target = ratio <= 0.2 if scratch_exact or ratio <= 0.2 else None
        sample_note = (
            f"{METHODS[best]}: {fast[best]:,.0f} env steps vs {'' if scratch_exact else 'at least '}"
            f"{scratch:,.0f} from scratch ({reached('scratch')}/{seeds} scratch seeds reached it), "
            f"ratio {'' if scratch_exact else '<= '}{ratio:.2f}"
        )
    elif scratch_exact:
        sample_target = False
        sample_note = (
            f"PPO from scratch reached the threshold in all seeds ({scratch:,.0f} env steps); no prior-based method did"
        )
    else:
        sample_target = None
        sample_note = (
            "not decidable in this budget: "
            + ("PPO from scratch never reached the threshold; " if reached("scratch") == 0 else "")
            + "no prior-based method reached it in all seeds"
        )
    speed_ratio = min(speed[m]["env_steps_per_s"] / plain[m]["env_steps_per_s"] for m in ("residual", "dsrl"))
    print(
        f"\ntarget 'residual or DSRL reaches {args.threshold:.0%} in <= 1/5 of the steps from scratch': "
        f"{'met' if sample_target else 'missed' if sample_target is False else 'undecided'} ({sample_note})"
    )
    print(
        f"target 'throughput with the prior >= 0.5 x plain': {'met' if speed_ratio >= 0.5 else 'missed'} "
        f"(worst {speed_ratio:.2f} x)"
    )
    print(f"load average at start {load:.1f} on {os.cpu_count()} cores; total {time.perf_counter() - t_all:.0f} s")
    path = write_results(
        f"priors_sample_efficiency_{args.task}" + ("_quick" if args.quick else ""),
        {
            "task": args.task,
            "env": task.env_id,
            "prior": task.prior,
            "settings": task.settings,
            "quick": args.quick,
            "seeds": seeds,
            "env_steps_per_run": steps,
            "eval_every": eval_every,
            "eval_episodes": n_eval,
            "threshold": args.threshold,
            "table": rows,
            "runs": runs,
            "throughput": speed,
            "throughput_plain_same_settings": plain,
            "throughput_repeats": args.repeats,
            "median_steps_to_threshold": medians,
            "stats": stats,
            "targets": {
                "sample_efficiency": sample_target,
                "sample_note": sample_note,
                "throughput_ratio_min": round(speed_ratio, 3),
                "throughput": speed_ratio >= 0.5,
            },
            "load_average_at_start": load,
            "total_seconds": round(time.perf_counter() - t_all, 1),
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
