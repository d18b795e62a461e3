"""labkit.policies.runner: ChunkRunner, the one executor of chunk policies (histories, queues, one call per plan)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import labkit as lk
from labkit.envs import make
from labkit.policies import ChunkRunner, ObsHistory

ENV = "labkit/TwoRoutes-v0"


@pytest.fixture
def policy(tiny_policy):
    """To = 2, H = 8, Ta = 4 on TwoRoutes' sizes (obs 8, action 2), DDIM 10."""
    return tiny_policy("diffusion", 8, 2)


@pytest.fixture(scope="module")
def obs3():
    return np.repeat(make(ENV, seed=0).reset(seed=0)[0][None], 3, axis=0)  # (3, 8)


class CountingPolicy:
    """Wraps a policy and records the batch size of every predict_action call."""

    def __init__(self, policy):
        self.policy, self.config, self.batches = policy, policy.config, []

    def predict_action(self, obs, **kwargs):
        self.batches.append(len(obs))
        return self.policy.predict_action(obs, **kwargs)


def test_history_repeats_the_first_obs_and_shifts():
    h = ObsHistory(2, 3, 1)
    h.reset(np.array([[1.0], [5.0]]))
    assert h.data[:, :, 0].tolist() == [[1, 1, 1], [5, 5, 5]]
    h.push(np.array([[2.0], [6.0]]))
    h.push(np.array([[7.0]]), rows=[1])
    assert h.data[:, :, 0].tolist() == [[1, 1, 2], [5, 6, 7]]
    np.testing.assert_array_equal(h.after([0], np.array([[9.0]]))[0, :, 0], [1, 2, 9])
    assert h.data[0, -1, 0] == 2  # after() changes nothing
    h.observe(np.array([[3.0], [8.0]]), dones=np.array([False, True]))  # SB3: a done row's obs starts its next episode
    assert h.data[:, :, 0].tolist() == [[1, 2, 3], [8, 8, 8]]


def test_runner_draws_exactly_what_predict_action_draws(policy, obs3):
    """The runner's actions are the chunks of predict_action on its histories, with the same generator stream."""
    Ta = policy.config.n_action_steps
    runner = ChunkRunner(policy, 3, seed=5)
    direct = torch.Generator().manual_seed(5)
    runner.reset(obs3)
    for _plan in range(2):
        hist = runner.history.data.copy()
        got = []
        for _ in range(Ta):
            got.append(runner.next_action())
            runner.observe(obs3 + 0.01 * len(got))
        want = policy.predict_action(torch.as_tensor(hist), generator=direct).numpy()  # (3, Ta, 2)
        np.testing.assert_array_equal(np.stack(got, axis=1), want)
    assert runner.n_calls == 2 and not runner.align  # one call per chunk; alignment is off by default


def test_runner_keeps_envs_in_step_after_a_reset_only_when_aligned(policy, obs3):
    """An env that restarts mid-chunk runs a shortened first chunk, so all envs plan in one call again."""
    Ta = policy.config.n_action_steps
    for align, calls in [(True, 3), (False, 4)]:
        runner = ChunkRunner(policy, 3, seed=0, align=align)
        runner.reset(obs3)
        runner.next_action()  # one call for all three envs
        runner.observe(obs3)
        runner.reset(obs3, np.array([1]))  # env 1 starts a new episode after one step
        for _ in range(Ta + 1):  # env 1 plans at once; the others when their chunks run out
            runner.next_action()
            runner.observe(obs3)
        assert runner.n_calls == calls, (align, runner.n_calls)
    aligned = ChunkRunner(policy, 3, seed=0, align=True)
    aligned.reset(obs3)
    aligned.next_action()
    aligned.reset(obs3, np.array([1]))
    aligned.next_action()
    assert len(set(aligned.cursor.tolist())) == 1  # every queue now runs out at the same step


def test_inactive_rows_neither_plan_nor_advance(policy, obs3):
    counting = CountingPolicy(policy)
    runner = ChunkRunner(counting, 3, seed=0)
    runner.reset(obs3)
    active = np.array([True, False, True])
    action = runner.next_action(active)
    assert counting.batches == [2] and np.all(action[1] == 0) and np.any(action[0] != 0)
    assert runner.cursor.tolist() == [1, runner.n_action_steps, 1]  # row 1: still an empty queue
    runner.next_action()  # now row 1 plans alone; rows 0 and 2 pop their next action
    assert counting.batches == [2, 1]


def test_evaluate_plans_only_for_running_episodes(policy):
    """3 episodes in 2 slots: once the first two end, one slot idles and the policy sees batches of 1."""
    counting = CountingPolicy(policy)
    res = lk.evaluate(counting, ENV, 3, seed=0, batch_size=2, max_steps=6, progress=False)
    assert (res.lengths == 6).all()
    assert counting.batches == [2, 2, 1, 1]  # plans at steps 0 and 4 of each episode (Ta = 4)


def test_noise_fn_gets_the_planning_rows_and_peek_leaves_queues(policy, obs3):
    runner = ChunkRunner(policy, 3, seed=0)
    runner.reset(obs3)
    seen = []
    zeros = lambda rows: seen.append(rows.tolist()) or torch.zeros(len(rows), *runner.chunk_shape)  # noqa: E731
    runner.next_action(np.array([True, True, False]), noise_fn=zeros)
    assert seen == [[0, 1]] and runner.chunk_shape == (8, 2)
    cursor, queue = runner.cursor.copy(), runner.queue.copy()
    peek = runner.peek_after(np.array([0, 2]), obs3[[0, 2]])
    np.testing.assert_array_equal(peek[0], runner.queue[0, runner.cursor[0]])  # row 0: its next queued action
    assert runner.n_calls == 2  # row 2 had nothing queued: one call for it
    np.testing.assert_array_equal(runner.cursor, cursor)
    np.testing.assert_array_equal(runner.queue, queue)


def test_shorter_execution_and_bad_arguments(policy, obs3):
    runner = ChunkRunner(policy, 3, n_action_steps=1, seed=0)  # replan every step
    runner.reset(obs3)
    for _ in range(3):
        runner.next_action()
    assert runner.n_calls == 3
    with pytest.raises(ValueError, match=r"n_action_steps must be in \[1, 4\]"):
        ChunkRunner(policy, 3, n_action_steps=5)
    with pytest.raises(ValueError, match="n_envs must be an integer >= 1"):
        ChunkRunner(policy, 0)
    with pytest.raises(TypeError, match="ChunkRunner needs a chunk policy"):
        ChunkRunner(torch.nn.Linear(8, 2), 1)


def test_predict_kwargs_reach_every_call(policy, obs3):
    det = ChunkRunner(policy, 3, seed=0, sampler="ddpm", num_inference_steps=2)
    det.reset(obs3)
    a = det.next_action()
    b = policy.predict_action(
        torch.as_tensor(det.history.data),
        generator=torch.Generator().manual_seed(0),
        sampler="ddpm",
        num_inference_steps=2,
    )[:, 0].numpy()
    np.testing.assert_array_equal(a, b)
