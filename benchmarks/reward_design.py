"""Benchmark: Eureka's and Text2Reward's loops on TwoRoutes with the local 135M model, over loop seeds.

Per loop seed (a ``labkit.sweep`` trial, ``labkit.experiments.reward_design.run_loop``): the share of
candidates that parse, that the sandbox accepts, that run and train a policy, and whose PPO run beats
the sparse reward (same PPO seed and budget, ``run_reference``); the best candidate's success against
the true dense reward; generation vs training time (wall and CPU). Rates are reported as IQM and mean
with 95% bootstrap CIs over seeds (``labkit.stats.summarize``). Also: the model's load time and
tokens/s, the sandbox's cost per call, and a cached re-run of one loop (its replies read back).

    python benchmarks/reward_design.py --quick   # 3 loop seeds x Eureka (2 rounds x K=4), Text2Reward on seed 0
    python benchmarks/reward_design.py           # Eureka 3 rounds, Text2Reward on every seed, best retrained x 3

Generation is never read from an earlier cache: the replies go to a fresh temporary folder (or to
``--out``/replies, which makes an interrupted run resumable). Targets from the issue: ``--quick``
under 5 minutes of CPU on 2 cores; a small model failing often is a result, reported as measured.
Writes benchmarks/results/reward_design[_quick].json.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _common import table, write_results  # noqa: E402

from labkit.experiments import reward_design as xp  # noqa: E402
from labkit.llm import CachedClient, DesignConfig, compile_reward, get_client  # noqa: E402
from labkit.stats import summarize  # noqa: E402
from labkit.sweep import BACKENDS, SweepResult, grid, run  # noqa: E402

RATES = ("parse", "accepted", "run", "beats_sparse", "best_success")


def cpu() -> float:
    """CPU seconds of this process and its finished children (sandbox workers, sweep processes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def sandbox_cost(repeats: int = 50) -> dict:
    """Worker start, and wall / parent-CPU per call for batches of 1, 8 and 1024 states (HAND_WRITTEN)."""
    t0 = time.perf_counter()
    prog = compile_reward(xp.HAND_WRITTEN, xp.INPUTS)
    out: dict = {"start_seconds": time.perf_counter() - t0, "per_call": {}}
    rng = np.random.default_rng(0)
    with prog:
        for b in (1, 8, 1024):
            batch = {
                "pos": rng.normal(size=(b, 2)) * 0.3,
                "prev_pos": rng.normal(size=(b, 2)) * 0.3,
                "goal": np.tile([0.0, 0.35], (b, 1)),
                "obstacle": np.zeros((b, 2)),
                "success": np.zeros(b),
            }
            prog(**batch)
            n = repeats if b < 1024 else max(5, repeats // 5)
            w, c = time.perf_counter(), time.process_time()
            for _ in range(n):
                prog(**batch)
            wall, parent = (time.perf_counter() - w) / n, (time.process_time() - c) / n
            out["per_call"][str(b)] = {
                "wall_ms": 1e3 * wall,
                "wall_us_per_state": 1e6 * wall / b,
                "parent_cpu_ms": 1e3 * parent,
            }
    return out


def checked(sweep: SweepResult) -> SweepResult:
    if sweep.failed:
        raise SystemExit(f"{len(sweep.failed)} trials failed: {sweep.failed[0]['error']}")
    return sweep


def summary(rows: list[dict]) -> dict:
    """IQM / mean with bootstrap CIs of each rate over loop seeds, totals, and statuses per round."""
    rounds: dict[str, dict[str, int]] = {}
    for r in rows:  # what the feedback changed: how far the candidates of each round got
        for c in r["candidates"]:
            counts = rounds.setdefault(f"round {c['iteration'] + 1}", {})
            counts[c["status"]] = counts.get(c["status"], 0) + 1
    out: dict = {k: summarize([r[k] for r in rows if r[k] is not None]) for k in RATES}
    out.update(
        n_seeds=len(rows),
        n_candidates=int(sum(r["n"] for r in rows)),
        seeds_with_a_trained_candidate=int(sum(r["best_success"] is not None for r in rows)),
        status_per_round=rounds,
        dense_success=summarize([r["dense_success"] for r in rows]),
        sparse_success=summarize([r["sparse_success"] for r in rows]),
    )
    for k in ("generation_seconds", "generation_cpu_seconds", "training_seconds", "training_cpu_seconds"):
        out[k] = float(sum(r[k] for r in rows))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="Eureka 2 rounds, Text2Reward on the first seed only")
    ap.add_argument("--seeds", type=int, default=3, help="loop seeds 0 .. N-1 (default 3)")
    ap.add_argument("--llm", default=None, help="LABKIT_LLM spec (default: the local 135M model)")
    ap.add_argument(
        "--backend", choices=BACKENDS, default="sequential", help="labkit.sweep backend (timings: sequential)"
    )
    ap.add_argument("--workers", type=int, default=None, help="parallel workers (process / local ray)")
    ap.add_argument("--address", default=None, help="a Ray cluster to join (default: RAY_ADDRESS or local)")
    ap.add_argument("--out", default=None, help="keep finished trials (and the replies) here; resume from them")
    args = ap.parse_args(argv)
    t_start, c_start, load_start = time.perf_counter(), cpu(), os.getloadavg()
    seeds = list(range(args.seeds))
    sweep_kw = dict(backend=args.backend, workers=args.workers, address=args.address, progress=False)
    out_dir = Path(args.out) if args.out else None
    replies = str(out_dir / "replies") if out_dir else tempfile.mkdtemp(prefix="labkit_replies_")
    out: dict = {"quick": args.quick, "seeds": seeds, "backend": args.backend, "load_start": load_start}

    out["sandbox"] = sandbox_cost()
    print("sandbox:", {k: round(v["wall_ms"], 3) for k, v in out["sandbox"]["per_call"].items()}, "ms", flush=True)

    client = get_client(args.llm)  # load the model once (the sequential trials share it) and time that
    t0, c0 = time.perf_counter(), time.process_time()
    client.generate([{"role": "user", "content": "Hi"}], max_new_tokens=4)
    out["model"] = {
        "name": client.name,
        "load_and_first_call_seconds": time.perf_counter() - t0,
        "load_and_first_call_cpu_seconds": time.process_time() - c0,
    }
    print(f"model {client.name}: loaded in {out['model']['load_and_first_call_cpu_seconds']:.1f} CPU s", flush=True)

    refs = checked(
        run(
            xp.run_reference,
            grid(reward=["sparse", "dense"], preset=["search"]),
            seeds=seeds,
            out=out_dir / "references" if out_dir else None,
            **sweep_kw,
        )
    )
    ref = {(r["reward"], r["seed"]): r["success"] for r in refs.records}
    out["references"] = {k: {s: ref[(k, s)] for s in seeds} for k in ("dense", "sparse")}
    print("references (final success per seed):", out["references"], flush=True)

    loop = dict(samples=4, temperature=0.5, max_new_tokens=192, preset="search", llm=args.llm, cache_dir=replies)
    plans = {
        "eureka": (dict(method="eureka", iterations=2 if args.quick else 3, **loop), seeds),
        "text2reward": (dict(method="text2reward", iterations=2, **loop), seeds[:1] if args.quick else seeds),
    }
    out["per_seed"], out["summary"] = {}, {}
    for method, (setting, method_seeds) in plans.items():
        sweep = checked(
            run(xp.run_loop, [setting], seeds=method_seeds, out=out_dir / method if out_dir else None, **sweep_kw)
        )
        rows = []
        for r in sweep.records:
            sparse, dense = ref[("sparse", r["seed"])], ref[("dense", r["seed"])]
            trained = [c["success"] for c in r["candidates"] if c["success"] is not None]
            beats = sum(s > sparse for s in trained) / max(r["n"], 1)
            rows.append({**r, "beats_sparse": beats, "sparse_success": sparse, "dense_success": dense})
            print(
                f"{method} seed {r['seed']}: {r['n']} candidates, parse {r['parse']:.0%}, accepted "
                f"{r['accepted']:.0%}, run {r['run']:.0%}, beat sparse {beats:.0%}; best {r['best_success']}, "
                f"dense {dense:.0%}, sparse {sparse:.0%}; generation {r['generation_cpu_seconds']:.0f} CPU s, "
                f"training {r['training_cpu_seconds']:.0f} CPU s",
                flush=True,
            )
        out["per_seed"][method] = rows
        out["summary"][method] = summary(rows)

    tokens = sum(r["completion_tokens"] for rows in out["per_seed"].values() for r in rows)
    gen_cpu = sum(r["generation_cpu_seconds"] for rows in out["per_seed"].values() for r in rows)
    gen_wall = sum(r["generation_seconds"] for rows in out["per_seed"].values() for r in rows)
    out["model"].update(
        completion_tokens=tokens,
        tokens_per_cpu_second=tokens / max(gen_cpu, 1e-9),
        tokens_per_wall_second=tokens / max(gen_wall, 1e-9),
    )

    # The cached re-run: eureka's first seed again, every reply read back from its cache file.
    first = out["per_seed"]["eureka"][0]
    cached = CachedClient(get_client(args.llm), Path(replies) / f"eureka_{first['seed']}.json", read_only=True)
    again = xp.run_design(
        "eureka", cached, config=DesignConfig(**first["config"]), preset=xp.PRESETS["search"], progress=False
    )
    out["cached_rerun"] = {
        "seconds": again.generation_seconds,
        "original_generation_seconds": first["generation_seconds"],
        "hits": cached.hits,
        "misses": cached.misses,
        "same_statuses": [c.status for c in again.candidates] == [c["status"] for c in first["candidates"]],
    }

    if not args.quick:  # retrain the overall best candidate on three PPO seeds next to the references
        bests = [r for rows in out["per_seed"].values() for r in rows if r["best_code"]]
        best = max(bests, key=lambda r: r["best_success"])["best_code"] if bests else None
        comp = xp.compare_rewards(best, seeds=(0, 1, 2), preset=xp.PRESETS["compare"])
        out["comparison"] = {"best_code": best} | {
            k: [
                None if r is None else {"success": r.success, "steps": r.steps, "success_curve": r.success_curve}
                for r in v
            ]
            for k, v in comp.items()
        }

    rows = []
    for method, s in out["summary"].items():
        row = {"method": method, "seeds": s["n_seeds"], "candidates": s["n_candidates"]}
        for k in RATES:
            st = s[k]
            row[k] = f"{st['iqm']:.0%} [{st['iqm_ci'][0]:.0%}, {st['iqm_ci'][1]:.0%}]" if st["n"] else "none"
        row |= {"gen. CPU s": s["generation_cpu_seconds"], "train CPU s": s["training_cpu_seconds"]}
        rows.append(row)
    print("\nIQM over loop seeds [95% bootstrap CI]; best_success only over seeds where a candidate trained")
    print(table(rows, ["method", "seeds", "candidates", *RATES, "gen. CPU s", "train CPU s"]))
    out.update(wall_seconds=time.perf_counter() - t_start, cpu_seconds=cpu() - c_start, load_end=os.getloadavg())
    quick_ok = out["cpu_seconds"] <= 300
    out["targets"] = {"quick <= 300 CPU s": quick_ok} if args.quick else {}
    path = write_results("reward_design" + ("_quick" if args.quick else ""), out)
    print(f"\n{out['wall_seconds']:.0f} s wall, {out['cpu_seconds']:.0f} CPU s, load {out['load_end'][0]:.1f}")
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
