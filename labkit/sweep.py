"""Sweeps: run a ready-made experiment over a grid of settings x seeds, here or on a Ray cluster, unchanged.

    from labkit.experiments.priors import run_method        # any function(seed=..., **settings) -> dict
    result = lk.sweep.run(run_method, lk.sweep.grid(method=["scratch", "dsrl"]), seeds=5,
                          backend="process", out="runs/priors")     # resumable: finished trials are kept
    result.summary("env_steps_to_90")      # per setting: n, mean, IQM, 95% bootstrap CIs
    result.figure("final_success", x="method")

Backends, all giving the same numbers for the same trial (a trial's seed is part of the trial, never
drawn from the order trials run in):

- ``"sequential"`` (default): in this process, one after the other; nothing to start;
- ``"process"``: a local pool of ``workers`` processes (default: the machine's cores);
- ``"ray"``: Ray tasks (``pip install "labkit[ray]"``), on a local Ray started here, or joining a
  cluster at ``address=`` / ``RAY_ADDRESS`` (``ray start --head`` on one machine, ``ray start
  --address=HEAD:6379`` on the others, the same labkit installed on all of them).

A trial that raises is recorded with its error (``status = "error"``) and the sweep goes on. With
``out=DIR`` every finished trial is written to ``DIR/<key>.json`` at once (atomically), so an
interrupted sweep keeps what it finished, and running it again skips those trials.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import itertools
import json
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from tqdm.auto import tqdm

from labkit.io import atomic_write
from labkit.runtime import check_int, check_seed
from labkit.stats import summarize
from labkit.viz.palette import color_of, rgba

__all__ = ["BACKENDS", "SweepResult", "Trial", "example_trial", "grid", "run"]

BACKENDS = ("sequential", "process", "ray")


def grid(**axes: Sequence[Any]) -> list[dict[str, Any]]:
    """The cartesian product of the axes: ``grid(method=["a", "b"], scale=[0.3, 1.0])`` -> 4 settings."""
    for name, values in axes.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"grid axis {name!r} must be a non-empty list of values. Got {values!r}.")
    names = list(axes)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(axes[n] for n in names))]


@dataclass(frozen=True)
class Trial:
    """One run: ``fn(seed=seed, **settings)``. ``key`` names it stably (the settings and the seed)."""

    settings: dict[str, Any]
    seed: int

    @property
    def key(self) -> str:
        text = json.dumps({"settings": self.settings, "seed": self.seed}, sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:16]


def example_trial(seed: int, x: float = 0.0, fail: bool = False) -> dict[str, Any]:
    """A tiny deterministic trial for trying the backends: ``value`` = x^2 + noise(seed); ``fail`` raises."""
    if fail:
        raise RuntimeError(f"trial with x={x} fails on purpose")
    return {"value": float(x**2 + np.random.default_rng(seed).normal()), "x_squared": float(x**2)}


def _run_trial(fn: Callable[..., dict[str, Any]], trial: Trial) -> dict[str, Any]:
    """Run one trial; never raises (a failure becomes a record with its error)."""
    start = time.perf_counter()
    record: dict[str, Any] = {**trial.settings, "seed": trial.seed, "key": trial.key}
    try:
        metrics = fn(seed=trial.seed, **trial.settings)
        if not isinstance(metrics, dict):
            raise TypeError(f"a sweep function must return a dict of metrics. Got {type(metrics).__name__}.")
        record.update(metrics, status="ok")
    except Exception as err:  # noqa: BLE001 - one failed trial must not end the sweep
        record.update(status="error", error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc(limit=5))
    record["seconds"] = round(time.perf_counter() - start, 3)
    return json.loads(json.dumps(record, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


@dataclass
class SweepResult:
    """Every trial's record: its settings, ``seed``, ``status`` ("ok" or "error"), metrics, ``seconds``."""

    records: list[dict[str, Any]] = field(default_factory=list)
    settings_names: list[str] = field(default_factory=list)

    @property
    def ok(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("status") == "ok"]

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("status") != "ok"]

    def to_dataframe(self) -> Any:
        """The records as a ``pandas.DataFrame`` (pandas must be installed)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_dataframe needs pandas: pip install pandas (or use result.records)") from None
        return pd.DataFrame(self.records)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the records to ``path``: ``.json`` (always works) or ``.parquet`` (needs pandas + pyarrow)."""
        path = Path(path)
        if path.suffix == ".parquet":
            frame = self.to_dataframe()
            return atomic_write(path, lambda f: frame.to_parquet(f))
        if path.suffix != ".json":
            raise ValueError(f"save to a .json or .parquet file. Got {str(path)!r}.")
        text = json.dumps(self.records, indent=1)
        return atomic_write(path, lambda f: f.write(text.encode()))

    def groups(self, by: Sequence[str] | None = None) -> dict[tuple, list[dict[str, Any]]]:
        """The successful records grouped by the settings in ``by`` (default: every setting)."""
        by = list(self.settings_names if by is None else by)
        out: dict[tuple, list[dict[str, Any]]] = {}
        for r in self.ok:
            out.setdefault(tuple(r.get(k) for k in by), []).append(r)
        return out

    def summary(
        self, metric: str, by: Sequence[str] | None = None, *, confidence: float = 0.95
    ) -> list[dict[str, Any]]:
        """Per setting: n seeds, mean and IQM of ``metric`` with bootstrap CIs, min and max."""
        by = list(self.settings_names if by is None else by)
        rows = []
        for key, recs in self.groups(by).items():
            values = [r[metric] for r in recs if isinstance(r.get(metric), (int, float))]
            rows.append(
                {**dict(zip(by, key, strict=True)), "metric": metric, **summarize(values, confidence=confidence)}
            )
        return rows

    def figure(self, metric: str, x: str, *, by: str | None = None, title: str | None = None) -> go.Figure:
        """IQM of ``metric`` against setting ``x`` with its 95% CI as a band, one line per value of ``by``."""
        lines: dict[Any, list[dict[str, Any]]] = {}
        for row in self.summary(metric, [x] + ([by] if by else [])):
            lines.setdefault(row.get(by) if by else metric, []).append(row)
        fig = go.Figure()
        for name, rows in lines.items():
            rows = sorted((r for r in rows if r["n"]), key=lambda r: str(r[x]) if not _numeric(r[x]) else r[x])
            xs = [r[x] for r in rows]
            lo, hi = [r["iqm_ci"][0] for r in rows], [r["iqm_ci"][1] for r in rows]
            color = color_of(str(name))
            if all(_numeric(v) for v in xs):
                fig.add_scatter(
                    x=xs + xs[::-1],
                    y=hi + lo[::-1],
                    fill="toself",
                    mode="lines",  # no markers on the band (plotly adds them to short traces)
                    fillcolor=rgba(color, 0.2),
                    line=dict(width=0),
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=str(name),
                )
                fig.add_scatter(
                    x=xs,
                    y=[r["iqm"] for r in rows],
                    mode="lines+markers",
                    name=str(name),
                    legendgroup=str(name),
                    line=dict(color=color),
                )
            else:
                fig.add_bar(
                    x=[str(v) for v in xs],
                    y=[r["iqm"] for r in rows],
                    name=str(name),
                    marker_color=color,
                    error_y=dict(
                        type="data",
                        symmetric=False,
                        array=[h - r["iqm"] for h, r in zip(hi, rows)],
                        arrayminus=[r["iqm"] - lo_ for lo_, r in zip(lo, rows)],
                    ),
                )
        n = max((r["n"] for rs in lines.values() for r in rs), default=0)
        fig.update_layout(
            title=title or f"{metric}: IQM and 95% bootstrap CI over {n} seeds",
            xaxis_title=x,
            yaxis_title=metric,
            template="plotly_white",
            height=380,
            barmode="group",
        )
        return fig


def _numeric(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _load_done(out: Path | None) -> dict[str, dict[str, Any]]:
    if out is None or not out.is_dir():
        return {}
    done = {}
    for path in sorted(out.glob("*.json")):
        try:
            rec = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a damaged record is simply run again
        if isinstance(rec, dict) and rec.get("status") == "ok" and "key" in rec:
            done[rec["key"]] = rec
    return done


def _ray(address: str | None, workers: int | None) -> Any:
    try:
        import ray
    except ImportError:
        raise ImportError('backend="ray" needs Ray: pip install "labkit[ray]" (or pip install ray)') from None
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS")
        local: dict[str, Any] = {}
        if not address:  # a local Ray, on loopback
            local = {"num_cpus": workers, "object_store_memory": 100 * 2**20, "_node_ip_address": "127.0.0.1"}
        ray.init(address=address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True, **local)
    return ray


def run(
    fn: Callable[..., dict[str, Any]],
    settings: Sequence[dict[str, Any]] | None = None,
    seeds: int | Sequence[int] = 3,
    *,
    backend: str = "sequential",
    workers: int | None = None,
    address: str | None = None,
    out: str | os.PathLike | None = None,
    progress: bool = True,
) -> SweepResult:
    """Run ``fn(seed=s, **setting)`` for every setting x seed; return every trial's record.

    :param fn: a module-level function (it is sent to other processes) returning a dict of JSON-friendly metrics.
    :param settings: a list of keyword-argument dicts (``grid(...)``); default one empty setting.
    :param seeds: a number of seeds (``0 .. n-1``) or the list of seeds.
    :param backend: ``"sequential"``, ``"process"`` or ``"ray"`` (see the module docstring).
    :param workers: parallel workers (``"process"``: default the CPU count; ``"ray"``: CPUs of a local Ray).
    :param address: the Ray cluster to join (default ``RAY_ADDRESS``, else a local Ray).
    :param out: a folder to keep every finished trial in; trials already there are not run again.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}. Got {backend!r}.")
    settings = [dict(s) for s in (settings if settings is not None else [{}])]
    seed_list = list(range(check_int("seeds", seeds))) if isinstance(seeds, int) else [check_seed(s) for s in seeds]
    trials = [Trial(s, seed) for s in settings for seed in seed_list]
    names = sorted({k for s in settings for k in s}, key=lambda k: next(i for i, s in enumerate(settings) if k in s))
    out_dir = Path(out) if out is not None else None
    done = _load_done(out_dir)
    todo = [t for t in trials if t.key not in done]
    records: dict[str, dict[str, Any]] = {t.key: done[t.key] for t in trials if t.key in done}

    def keep(rec: dict[str, Any]) -> None:
        records[rec["key"]] = rec
        if out_dir is not None:
            text = json.dumps(rec, indent=1)
            atomic_write(out_dir / f"{rec['key']}.json", lambda f: f.write(text.encode()))
        bar.update(1)
        if rec["status"] != "ok":
            bar.write(f"trial {rec['key']} ({rec.get('seed')}) failed: {rec['error']}")

    bar = tqdm(total=len(trials), initial=len(trials) - len(todo), desc=f"sweep ({backend})", disable=not progress)
    try:
        if backend == "sequential" or not todo:
            for t in todo:
                keep(_run_trial(fn, t))
        elif backend == "process":
            n = workers or os.cpu_count() or 1
            ctx = multiprocessing.get_context("forkserver")
            with concurrent.futures.ProcessPoolExecutor(max_workers=check_int("workers", n), mp_context=ctx) as pool:
                futures = [pool.submit(_run_trial, fn, t) for t in todo]
                for fut in concurrent.futures.as_completed(futures):
                    keep(fut.result())
        else:
            ray = _ray(address, workers)
            remote = ray.remote(num_cpus=1)(_run_trial)
            pending = [remote.remote(fn, t) for t in todo]
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                keep(ray.get(ready[0]))
    finally:
        bar.close()
    return SweepResult([records[t.key] for t in trials if t.key in records], names)
