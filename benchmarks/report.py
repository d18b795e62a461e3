"""The README's result tables, made from benchmarks/results/*.json (never typed by hand).

Every table gives, per method, the interquartile mean (IQM) over seeds with a 95% bootstrap (BCa)
confidence interval (``labkit.stats.summarize``), beside the mean and the per-seed values: with three
to five seeds an interval is wide, and the table says so instead of hiding it behind one number.

    python benchmarks/report.py             # print the tables
    python benchmarks/report.py --readme    # rewrite them in README.md, between <!-- results:NAME --> markers

``tests/integration/test_readme_results.py`` fails when README.md and the result files disagree.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from labkit.stats import summarize

RESULTS = Path(__file__).resolve().parent / "results"
README = Path(__file__).resolve().parent.parent / "README.md"
MARKER = re.compile(r"(<!-- results:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /results -->)", re.S)


def _load(name: str) -> dict:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        raise SystemExit(f"{path} is missing: run `python benchmarks/<script>.py` (see benchmarks/README.md) first.")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise SystemExit(f"{path} is not valid JSON ({e}): rerun the benchmark that writes it.") from None


def _verdict(ok: bool | None) -> str:
    """A target's result as the tables print it."""
    return "not measured" if ok is None else "met" if ok else "missed"


def _verdicts(targets: dict, sep: str = ", ") -> str:
    """``name: met/missed`` for ``{name: bool}`` or ``{name: {"pass": bool, ...}}``."""
    return sep.join(f"{n}: {_verdict(t['pass'] if isinstance(t, dict) else t)}" for n, t in targets.items())


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _interval(values, fmt: Callable[[float], str] = _pct) -> str:
    """``IQM [low, high]`` of per-seed values (a single seed has no interval)."""
    st = summarize(values)
    if st["n"] < 2:
        return fmt(st["iqm"]) + " (1 seed)"
    lo, hi = st["iqm_ci"]
    return f"{fmt(st['iqm'])} [{fmt(lo)}, {fmt(hi)}]"


def _per_seed(values, fmt: Callable[[float], str] = _pct) -> str:
    return ", ".join(fmt(v) for v in values)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _machine(d: dict) -> str:
    m = d.get("machine", {})
    load = m.get("load_1min", d.get("load_average_at_start"))
    at = f", load {load:.1f}" if isinstance(load, (int, float)) else ""
    return f"_{m.get('cpus', '?')} cores, no GPU{at}, {m.get('date', 'date not recorded')}; `benchmarks/results/`_"


def diffusion_policy() -> str:
    d = _load("diffusion_policy")
    rows = []
    for kind, label in (("gaussian", "Gaussian BC"), ("diffusion", "diffusion policy")):
        mine = [r for r in d["per_seed"] if r["policy"] == kind]
        summ = next(s for s in d["summary"] if s["policy"] == kind)

        def ms(key: str, summ: dict = summ) -> str:
            v = summ.get(key)
            return f"{v:.2f}" if isinstance(v, (int, float)) and v == v else "-"

        rows.append(
            [
                label,
                _interval([r["success"] for r in mine]),
                _per_seed([r["success"] for r in mine]),
                _interval([r["left share"] for r in mine]),
                f"{summ['train s']:.0f}",
                ms("DDPM-100 ms"),
                ms("DDIM-10 ms"),
            ]
        )
    header = ["policy", "success: IQM [95% CI]", "per seed", "left share of successes", "train s", "DDPM-100 ms/call",
              "DDIM-10 ms/call"]  # fmt: skip
    note = f"{len(d['seeds'])} seeds x {d['episodes']} episodes, {d['iterations']} iterations; " + _machine(d)
    return _table(header, rows) + "\n\n" + note + "\n"


def priors(task: str) -> str:
    d = _load(f"priors_sample_efficiency_{task}")
    budget = d["env_steps_per_run"]
    names = {r["method"]: r for r in d["table"]}
    labels = {"scratch": "PPO from scratch", "residual": "residual PPO on the prior", "dsrl": "DSRL (noise space)"}
    rows = []
    for key, label in labels.items():
        runs = [r for r in d["runs"] if r["method"] == key]
        if not runs:
            continue
        steps = [r["steps_to_threshold"] if r["steps_to_threshold"] is not None else budget for r in runs]
        reached = sum(r["steps_to_threshold"] is not None for r in runs)

        def k(v: float) -> str:
            return f"{v / 1000:.1f}k"

        table_row = next((v for n, v in names.items() if n.startswith(label.split(" (")[0])), {})
        rows.append(
            [
                label,
                _interval([r["start_success"] for r in runs]),
                _interval([r["final_success"] for r in runs]),
                f"{reached}/{len(runs)}",
                _interval(steps, k) + (" (a lower bound)" if reached < len(runs) else ""),
                str(table_row.get("env steps/s", "-")),
            ]
        )
    header = ["method", "start success", "final success", "seeds reaching 90%", "env steps to 90% (budget if never)",
              "env steps/s"]  # fmt: skip
    note = f"{d['seeds']} seeds x {budget:,} env steps, evaluated every {d['eval_every']:,} on {d['eval_episodes']} "
    return _table(header, rows) + "\n\n" + note + "fixed start states; " + _machine(d) + "\n"


def offline() -> str:
    d = _load("offline_and_dppo")
    per = d["offline"]["per_seed"]
    rows = []
    for name in dict.fromkeys(r["method"] for r in per):
        mine = [r for r in per if r["method"] == name]
        rows.append(
            [
                name,
                _interval([r["success"] for r in mine]),
                _per_seed([r["success"] for r in mine]),
                _interval([r["normalised return"] for r in mine], lambda v: f"{v:.2f}"),
                f"{sum(r['train s'] for r in mine) / len(mine):.0f}",
            ]
        )
    header = ["method (offline, mixed data)", "success: IQM [95% CI]", "per seed", "normalised return", "train s"]
    note = f"{len(d['seeds'])} seeds x {d['episodes']} episodes; " + _machine(d)
    return _table(header, rows) + "\n\n" + note + "\n"


def dppo() -> str:
    d = _load("offline_and_dppo")
    per = d["dppo"]["per_seed"]
    rows = [
        [
            "DPPO",
            _interval([r["before"] for r in per]),
            _interval([r["after"] for r in per]),
            ", ".join(f"{_pct(r['before'])} -> {_pct(r['after'])}" for r in per),
            f"{sum(r['env steps'] for r in per) / len(per):,.0f}",
            f"{min(r['seconds'] for r in per):.0f}-{max(r['seconds'] for r in per):.0f}",
        ]
    ]
    header = ["method", "success before: IQM [95% CI]", "after", "per seed", "env steps", "train s"]
    return _table(header, rows) + "\n\n" + f"{len(per)} seeds x {d['episodes']} episodes; " + _machine(d) + "\n"


def reward_design() -> str:
    d = _load("reward_design_quick")
    rows = []
    for method, label in (("eureka", "Eureka (sampling + reflection)"), ("text2reward", "Text2Reward")):
        st = d["summary"].get(method)
        if not st:
            continue

        def share(key: str, st: dict = st) -> str:
            s = st[key]
            return _pct(s["mean"]) + (f" [{_pct(s['mean_ci'][0])}, {_pct(s['mean_ci'][1])}]" if s["n"] > 1 else "")

        rows.append(
            [
                label,
                str(st["n_seeds"]),
                str(st["n_candidates"]),
                share("parse"),
                share("accepted"),
                share("run"),
                share("beats_sparse"),
                f"{st['generation_cpu_seconds']:.0f}",
            ]
        )
    header = ["loop", "seeds", "candidates", "parse", "pass the sandbox", "train a policy", "beat sparse",
              "generation CPU s"]  # fmt: skip
    refs = d["references"]
    dense = ", ".join(_pct(v) for v in refs["dense"].values())
    sparse = ", ".join(_pct(v) for v in refs["sparse"].values())
    m = d["model"]
    note = (
        f"quick run (`--quick`), model {m['name']} at {m['tokens_per_cpu_second']:.0f} tokens per CPU second; "
        f"references per seed: dense reward {dense}, sparse {sparse}; shares are means [95% CI] over seeds; "
    )
    return _table(header, rows) + "\n\n" + note + _machine(d) + "\n"


REWARD_LABELS = {
    "dense": "true dense reward",
    "sparse": "sparse task reward",
    "diffusion": "diffusion reward (entropy)",
    "diffusion_likelihood": "diffusion reward (likelihood)",
    "video_prediction": "video-prediction reward",
    "vlm": "CLIP-style VLM reward",
    "episode_similarity": "episode similarity (RoboCLIP-style)",
    "vlm_potential": "CLIP-style VLM reward, paid as a potential",
}


def rewards() -> str:
    d = _load("rewards")
    rows = []
    for key, st in d["summary"].items():
        if "success_per_seed" not in st:
            continue
        steps = st.get("steps_to_90_per_seed", [])
        reached = sum(v is not None for v in steps)

        def k(v: float) -> str:
            return f"{v / 1000:.1f}k"

        pearson = st.get("pearson_per_episode")
        ratio = st.get("throughput_ratio")
        rows.append(
            [
                REWARD_LABELS.get(key, key),
                _interval(st["success_per_seed"]),
                _per_seed(st["success_per_seed"]),
                f"{reached}/{len(steps)}",
                _interval([v if v is not None else d["settings"]["env_steps"] for v in steps], k) if steps else "-",
                f"{pearson:.2f}" if isinstance(pearson, float) else "-",
                f"{ratio:.2f}" if isinstance(ratio, float) else "-",
            ]
        )
    header = ["PPO on", "success at the budget: IQM [95% CI]", "per seed", "seeds reaching 90%",
              "env steps to 90% (budget if never)", "Pearson r per episode with the true return",
              "share of PPO's throughput"]  # fmt: skip
    met = _verdicts(d.get("targets", {}))
    note = f"{len(d['seeds'])} seeds x {d['settings']['env_steps']:,} PPO env steps; targets: {met}; " + _machine(d)
    return _table(header, rows) + "\n\n" + note + "\n"


def distillation() -> str:
    d = _load("distillation")
    targets = {k: v for k, v in d["targets"].items() if k != "values"}
    rows = [[name, _verdict(ok)] for name, ok in targets.items()]
    vals = d["targets"].get("values", {})
    shown = ", ".join(f"{k} {v:.3g}" for k, v in vals.items() if isinstance(v, (int, float)))
    note = f"{len(d['seeds'])} seeds; means over seeds (RPD: every seed); measured values: {shown}; " + _machine(d)
    return _table(["target (issue 16)", "result"], rows) + "\n\n" + note + "\n"


SAFETY_METHODS = {
    "none": "unconstrained sampling",
    "project_every": "projection at every denoising step",
    "guidance": "guidance by the constraint's gradient",
    "project_final": "projection of the final sample",
}


def safety() -> str:
    d = _load("safety")
    rows = []
    for m, label in SAFETY_METHODS.items():
        recs = [r["methods"][m] for r in d["constraints"]["per_seed"]]
        rows.append(
            ["constraints", label, _interval([r["success"] for r in recs]),
             "violation rate " + _interval([r["violation_rate"] for r in recs])]
        )  # fmt: skip
    runs = d["saferl"]["runs"]
    for prior, who in ((True, "residual PPO on the prior"), (False, "PPO from scratch")):
        for limit in dict.fromkeys(r["cost_limit"] for r in runs if r["prior"] is prior):
            sel = [r for r in runs if r["prior"] is prior and r["cost_limit"] == limit]
            name = f"{who}, PPO-Lagrangian d = {limit}" if limit is not None else f"{who}, unconstrained"
            cost = _interval([r["cost"] for r in sel], lambda v: f"{v:.2f}")
            rows.append(["safe RL", name, _interval([r["success"] for r in sel]), f"hazard entries per episode {cost}"])
    for reg in dict.fromkeys(r["reg"] for r in d["forgetting"]["per_seed"]):
        sel = [r for r in d["forgetting"]["per_seed"] if r["reg"] == reg]
        label = {"plain": "plain fine-tuning", "bc": "fine-tuning + BC term", "ks": "fine-tuning + kickstarting"}
        before = _interval([r["old_before"] for r in sel])
        old = "old task " + _interval([r["old_after"] for r in sel]) + f" (before {before})"
        rows.append(["forgetting", label.get(reg, reg), "new task " + _interval([r["new_after"] for r in sel]), old])
    half = d["targets"]["latency"]["delay"]
    for m, label in (("naive", "naive chunk switching"), ("rtc", "freeze and inpaint (RTC)")):
        for delay in sorted({row["delay"] for row in d["latency"]["rows"]}):
            if delay in (0, half):
                values = [r["success"][f"{m}@{delay}"] for r in d["latency"]["per_seed"]]
                rows.append(["latency", f"{label}, delay {delay} steps", _interval(values), "-"])
    header = ["part", "method", "success: IQM [95% CI]", "safety or retention: IQM [95% CI]"]
    met = _verdicts(d["targets"])
    note = f"{len(d['seeds'])} seeds; targets: {met}; " + _machine(d)
    return _table(header, rows) + "\n\n" + note + "\n"


WM_LABELS = {
    "state": "PPO on the true state",
    "vip": "PPO on the frozen VIP latent",
    "autoencoder": "PPO on the frozen autoencoder latent",
    "pixels": "PPO on pixels (CnnPolicy, from scratch)",
    "vip_no_negatives": "PPO on the frozen VIP latent, no negatives",
    "sac": "SAC, model-free",
    "mbpo": "SAC + model (MBPO-style)",
    "sac_same_updates": "SAC with MBPO's updates per step, no model",
    "tdmpc": "TD-MPC-style latent model, MPPI planning",
    "tdmpc_policy_only": "TD-MPC-style latent model, its policy alone",
}
WM_TASKS = {"two_routes": "TwoRoutes", "inverted_pendulum": "InvertedPendulum"}


def _wm_label(key: str) -> str:
    """``"sac"`` -> its label; the latent part's ``"tdmpc/inverted_pendulum"`` -> label and task."""
    method, _, task = key.partition("/")
    label = WM_LABELS.get(method, method)
    return f"{label}, {WM_TASKS.get(task, task)}" if task else label


def world_models() -> str:
    d = _load("world_models")
    rows = []
    for part in ("ppo", "sac", "latent"):
        for method, recs in d.get(part, {}).get("per_seed", {}).items():
            steps = [r["curve_steps"] for r in recs]
            first = [next((s for s, v in zip(st, r["curve_success"]) if v >= 1.0), None) for st, r in zip(steps, recs)]
            reached = [f"{v / 1000:.1f}k" if v is not None else "never" for v in first]
            final = [r["final_success"] for r in recs]
            ms = sum(r["cpu_ms_per_step"] for r in recs) / len(recs)
            rows.append(
                [_wm_label(method), f"{recs[0]['env_steps']:,}", _interval(final), _per_seed(final),
                 ", ".join(reached), f"{ms:.2f}"]
            )  # fmt: skip
    header = ["agent", "env steps", "final success: IQM [95% CI]", "per seed", "first eval at 100% (per seed)",
              "CPU ms per env step"]  # fmt: skip
    t = d["targets"]

    parts = []
    if "vip_vs_state" in t:
        parts.append("VIP >= 90% of state and clearly above pixels: " + _verdict(t["vip_vs_state"]["met"]))
    if "mbpo" in t:
        ratio, cost = t["mbpo"]["steps_ratio"], t["mbpo"]["cost_ratio_cpu"]
        parts.append(f"MBPO in <= 1/3 of SAC's steps: {_verdict(ratio['met'])} (ratio {ratio['value']:.2f})")
        parts.append(f"MBPO's CPU per step within 5x of SAC's: {_verdict(cost['met'])} ({cost['value']:.1f}x)")
    for task, lt in t.get("latent", {}).items():
        learned, cost = lt["learns_in_5_minutes"], lt["cost_ratio"]
        first = ", ".join("never" if v is None else f"{v:.0f} s" for v in learned["train_seconds_to_90"])
        parts.append(
            f"TD-MPC learns {WM_TASKS.get(task, task)} in about 5 minutes: {_verdict(learned['met'])} "
            f"(training time to 90% per seed: {first}), its training cost per step within 5x of SAC's: "
            f"{_verdict(cost['met'])} ({cost['value']:.1f}x: {lt['train_ms_per_step']:.1f} ms updating and planning; "
            "the table's CPU column also counts its planned evaluations)"
        )
    note = f"{len(d['seeds'])} seed{'s' if len(d['seeds']) > 1 else ''}; targets: {'; '.join(parts)}; " + _machine(d)
    when = {p: m for p, m in d.get("parts_measured", {}).items() if m and m.get("date") != d["machine"].get("date")}
    if when:  # parts kept from an earlier run (--update)
        note += "; measured earlier: " + ", ".join(
            f"{p} {m.get('date')} (load {m.get('load_1min') or 0:.1f})" for p, m in when.items()
        )
    return _table(header, rows) + "\n\n" + note + "\n"


def offline_sequence() -> str:
    d = _load("offline_sequence")
    rows = []
    for dataset in dict.fromkeys(r["dataset"] for r in d["per_seed"]):
        for method in dict.fromkeys(r["method"] for r in d["per_seed"] if r["dataset"] == dataset):
            sel = [r for r in d["per_seed"] if r["dataset"] == dataset and r["method"] == method]
            success, norm = [r["success"] for r in sel], [r["normalised return"] for r in sel]
            cpu = sum(r["train cpu s"] for r in sel) / len(sel)
            rows.append(
                [dataset, method, _interval(success), _per_seed(success), _interval(norm, lambda v: f"{v:.2f}"),
                 f"{cpu:.0f}"]
            )  # fmt: skip
    header = ["data", "method", "success: IQM [95% CI]", "per seed", "normalised return: IQM [95% CI]",
              "train CPU s"]  # fmt: skip
    met = _verdicts(d["targets"], "; ")
    note = f"{len(d['seeds'])} seeds x {d['episodes']} episodes; targets: {met}; " + _machine(d)
    return _table(header, rows) + "\n\n" + note + "\n"


SECTIONS: dict[str, Callable[[], str]] = {
    "diffusion_policy": diffusion_policy,
    "priors_blocked": lambda: priors("blocked"),
    "priors_pushblock": lambda: priors("pushblock"),
    "offline": offline,
    "dppo": dppo,
    "reward_design": reward_design,
    "rewards": rewards,
    "distillation": distillation,
    "safety": safety,
    "world_models": world_models,
    "offline_sequence": offline_sequence,
}


def render_readme(text: str) -> str:
    """``text`` with every ``<!-- results:NAME -->`` block replaced by its table from the result files."""

    def swap(m: re.Match) -> str:
        name = m.group("name")
        if name not in SECTIONS:
            raise KeyError(f"README names results:{name}; known: {sorted(SECTIONS)}")
        return m.group(1) + SECTIONS[name]() + m.group(4)

    return MARKER.sub(swap, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readme", action="store_true", help="rewrite the tables in README.md")
    args = ap.parse_args(argv)
    if args.readme:
        README.write_text(render_readme(README.read_text()))
        print(f"updated {README}")
        return 0
    for name, fn in SECTIONS.items():
        print(f"## {name}\n\n{fn()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
