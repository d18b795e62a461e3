"""``import labkit`` registers the ``labkit/...`` ids wherever envs get made: this process, a fresh one,
gymnasium's ``module:id`` syntax, rl-zoo3's ``--gym-packages``, and SB3 ``SubprocVecEnv`` workers
started from a Jupyter kernel (labkit adds itself to multiprocessing's forkserver preload)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import gymnasium as gym
import nbformat
import pytest
from nbclient import NotebookClient

import labkit
from labkit.envs import LABKIT_ENVS, register_all


def _python(code: str, cwd) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (cwd outside the repo, so labkit comes from the installed package)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def test_every_id_is_registered_once_and_register_all_is_idempotent():
    before = {env_id: gym.spec(env_id) for env_id in LABKIT_ENVS}
    register_all()
    assert all(gym.spec(env_id) is spec for env_id, spec in before.items())
    assert labkit.make("labkit/TwoRoutesBlocked-v0").unwrapped.blocked == "right"


def test_module_prefix_id_imports_labkit_itself(tmp_path):
    out = _python(
        """
        import sys
        import gymnasium as gym
        assert "labkit" not in sys.modules
        env = gym.make("labkit:labkit/TwoRoutes-v0")
        obs, _ = env.reset(seed=0)
        print("labkit" in sys.modules, env.spec.id, obs.shape)
    """,
        tmp_path,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "labkit/TwoRoutes-v0", "(8,)"]


def test_gymnasium_make_after_only_import_labkit_as_rl_zoo3_does(tmp_path):
    """Nothing but ``import labkit`` (here as rl-zoo3's ``--gym-packages labkit`` does it: rl-zoo3 is not
    installed, it runs ``importlib.import_module(name)`` per package), then envs made by id: gymnasium.make
    and SB3's make_vec_env."""
    out = _python(
        """
        import importlib
        import gymnasium as gym
        from stable_baselines3.common.env_util import make_vec_env
        for env_module in ["labkit"]:  # rl_zoo3 ExperimentManager: --gym-packages
            importlib.import_module(env_module)
        env = gym.make("labkit/TwoRoutes-v0")
        print(env.spec.max_episode_steps, env.observation_space.shape, gym.make("labkit/PushBlock-v0").spec.id)
        venv = make_vec_env("labkit/TwoRoutesShifted-v0", n_envs=2)
        print(venv.reset().shape)
    """,
        tmp_path,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["100", "(8,)", "labkit/PushBlock-v0", "(2,", "8)"]


def test_subproc_vec_env_from_a_jupyter_kernel(tmp_path):
    """Workers started by a forkserver do not re-run a notebook's ``import labkit``: without labkit in the
    forkserver preload they raise NamespaceNotFound (labkit/envs/registry.py)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import labkit"),
        nbformat.v4.new_code_cell(
            textwrap.dedent("""\
            from stable_baselines3.common.env_util import make_vec_env
            from stable_baselines3.common.vec_env import SubprocVecEnv
            venv = make_vec_env("labkit/TwoRoutes-v0", n_envs=2, vec_env_cls=SubprocVecEnv)
            print(venv.reset().shape)
            venv.close()""")
        ),
    ]
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except Exception as exc:  # noqa: BLE001 - report the cell's error, not nbclient's wrapper
        pytest.fail(f"the notebook raised: {str(exc)[-1500:]}")
    text = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert "(2, 8)" in text, nb.cells[1].outputs
    assert "NamespaceNotFound" not in text
