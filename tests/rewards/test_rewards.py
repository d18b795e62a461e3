"""Fast tests of labkit.rewards: shapes, determinism, the wrappers with both env checkers, the refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3 import PPO
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.env_util import make_vec_env

import labkit as lk
from labkit.experiments import rewards as X
from labkit.rewards import (
    DiffusionRewardConfig,
    LearnedRewardVecEnv,
    LearnedRewardWrapper,
    RewardMismatchError,
    VideoPredictionConfig,
    VLMConfig,
    caption_indices,
    episode_states,
    goal_baseline_projection,
    load_reward_model,
    make_episode_similarity_reward,
    save_reward_model,
    train_diffusion_reward,
    train_video_prediction_reward,
    train_vlm_reward,
    transition_windows,
)

TASK = "labkit/TwoRoutes-v0"


@pytest.fixture(scope="module")
def demos():
    return lk.load("two_routes_demos")


@pytest.fixture(scope="module")
def models(demos):
    """One tiny model of each family (a few iterations: these tests check plumbing, not quality)."""
    diff, _ = train_diffusion_reward(
        demos, DiffusionRewardConfig(iterations=20, state_dims=(0, 1), stride=5, n_samples=2), progress=False
    )
    lik, _ = train_diffusion_reward(
        demos, DiffusionRewardConfig(iterations=20, reward_type="likelihood"), progress=False
    )
    vp, _ = train_video_prediction_reward(demos, VideoPredictionConfig(iterations=20, stride=3), progress=False)
    vlm, log = train_vlm_reward(demos, VLMConfig(iterations=5, n_images=64), progress=False)
    sim = make_episode_similarity_reward(vlm, demos, episode=0, n_frames=8, n_segments=2)
    return {"diffusion": diff, "likelihood": lik, "video_prediction": vp, "vlm": vlm, "episode_similarity": sim}


@pytest.fixture(scope="module")
def windows(demos):
    return episode_states(demos)[:3]


@pytest.mark.parametrize("name", ["diffusion", "likelihood", "video_prediction", "vlm", "episode_similarity"])
def test_step_reward_shapes_and_determinism(models, windows, name):
    model = models[name]
    w = transition_windows(windows, model.context, model.stride)[:7]  # (7, history_length, 8)
    assert w.shape == (7, model.history_length, 8)
    a, b = model.fresh(), model.fresh()
    ra, rb = a.step_reward(w, np.zeros((7, 2), np.float32)), b.step_reward(w, np.zeros((7, 2), np.float32))
    assert set(ra) >= {"total", "model"}
    for k in ra:
        assert ra[k].shape == (7,) and np.isfinite(ra[k]).all()
        np.testing.assert_allclose(ra[k], rb[k])  # same seed, same call sequence: same rewards
    with pytest.raises(ValueError, match="expects windows of shape"):
        model.step_reward(w[:, :1, :4])


def test_episode_similarity_is_sparse_and_higher_for_the_demo(models, demos):
    sim = models["episode_similarity"]
    states = episode_states(demos)
    r = sim.episode_reward([states[0], states[0][::-1].copy()])
    assert r.shape == (2,) and r[0] == pytest.approx(1.0, abs=1e-5) and r[1] < r[0]


def test_entropy_reward_is_its_vlb_estimate_negated(models, windows):
    m = models["diffusion"].fresh()
    w = transition_windows(windows, m.context, m.stride)[:5][:, :: m.stride]
    cond = m.state_norm(torch.as_tensor(w[..., list(m.config.state_dims)][:, 1:])).flatten(1)
    m.gen.manual_seed(3)
    vlb = m.vlb_of_samples(cond)
    m.gen.manual_seed(3)
    assert torch.allclose(m.raw_reward(w), -vlb)
    assert (vlb >= 0).all()  # a sum of KL terms


def test_goal_baseline_projection_limits():
    g, b = torch.nn.functional.normalize(torch.randn(2, 384), dim=-1).chunk(2)
    assert torch.allclose(goal_baseline_projection(g, b, 0.0), torch.eye(384))
    P = goal_baseline_projection(g, b, 1.0)
    assert torch.allclose(P @ P, P, atol=1e-5) and abs(float(torch.trace(P)) - 1.0) < 1e-4  # rank-1 projector


def test_captions_cover_the_regions():
    idx = caption_indices(np.array([[0.0, 0.35], [-0.3, -0.2], [0.0, -0.05], [0.3, 0.0], [0.0, -0.4]]))
    assert idx[0].tolist() == [4, 5]  # above the cup, at the goal
    assert idx[1, 0] == 2 and idx[2, 0] == 0 and idx[3, 0] == 3 and idx[4, 0] == 1


@pytest.mark.parametrize("name", ["diffusion", "vlm", "episode_similarity"])
def test_gymnasium_wrapper_passes_both_env_checkers(models, name):
    env = LearnedRewardWrapper(lk.make(TASK), models[name])
    gym_check_env(env, skip_render_check=True)
    sb3_check_env(env, warn=False)
    obs, info = env.reset(seed=0)
    obs, r, term, trunc, info = env.step(env.action_space.sample())
    assert {"true_reward", "learned_reward", "reward_terms"} <= set(info)


def test_vecenv_wrapper_trains_ppo_and_logs_both_rewards(models):
    venv = LearnedRewardVecEnv(make_vec_env(TASK, n_envs=2, seed=0), models["diffusion"].fresh())
    model = PPO("MlpPolicy", venv, n_steps=64, batch_size=64, n_epochs=1, seed=0, verbose=0)
    model.learn(256)
    venv.reset()
    _, rewards, _, infos = venv.step(np.zeros((2, 2), np.float32))
    assert rewards.shape == (2,)
    assert all({"true_reward", "learned_reward", "reward_terms"} <= set(i) for i in infos)
    assert np.allclose(rewards, [i["learned_reward"] + float(i["is_success"]) for i in infos], atol=1e-5)


def test_terminal_observation_is_scored(models):
    venv = LearnedRewardVecEnv(make_vec_env(TASK, n_envs=1, seed=0), models["vlm"].fresh())
    venv.reset()
    for _ in range(100):  # the time limit ends the episode
        _, _, dones, infos = venv.step(np.zeros((1, 2), np.float32))
    assert dones[0] and "learned_episode_return" in infos[0] and "true_episode_return" in infos[0]


def test_wrong_env_id_and_wrong_size_are_refused(models):
    model = models["video_prediction"]
    with pytest.raises(RewardMismatchError, match="trained for 'labkit/TwoRoutes-v0'"):
        LearnedRewardVecEnv(make_vec_env("labkit/TwoRoutesShifted-v0", n_envs=1), model)
    LearnedRewardVecEnv(make_vec_env("labkit/TwoRoutesShifted-v0", n_envs=1), model, check_env_id=False)  # on purpose
    with pytest.raises(RewardMismatchError, match="size 8"):
        LearnedRewardWrapper(lk.make("labkit/PushBlock-v0"), model)
    assert issubclass(RewardMismatchError, ValueError)


def test_configs_reject_bad_values():
    with pytest.raises(ValueError, match="reward_type"):
        DiffusionRewardConfig(reward_type="bogus")
    with pytest.raises(ValueError, match="alpha"):
        VLMConfig(alpha=1.5)
    with pytest.raises(ValueError, match="stride"):
        VideoPredictionConfig(stride=0)


def test_save_and_load_keep_the_reward(models, windows, tmp_path):
    model = models["video_prediction"]
    path = save_reward_model(model, tmp_path / "vp.pt")
    again = load_reward_model(path, lk.rewards.MODEL_CLASSES)
    w = transition_windows(windows, model.context, model.stride)[:5]
    np.testing.assert_allclose(again.fresh().step_reward(w)["model"], model.fresh().step_reward(w)["model"], atol=1e-6)
    assert again.env_id == model.env_id


def test_run_ppo_logs_the_true_task_and_the_training_episodes(models):
    log = X.run_ppo(models["diffusion"], 512, seed=0, n_envs=2, eval_every=256, n_eval_episodes=2, progress=False)
    summary = X.ppo_summary(log)
    assert summary["env_steps"] >= 512 and summary["steps"][0] == 0 and 0.0 <= summary["final_success"] <= 1.0
    assert log.extras["episodes"] and all(len(e) == 4 for e in log.extras["episodes"])


def test_the_trial_is_json_friendly_and_checks_its_reward():
    import json

    out = X.run_reward(0, "video_prediction", smoke=True, train_ppo=False, n_heldout=1)
    json.dumps(out)
    assert {"correlation", "cost", "by_driver"} <= set(out) and "ppo" not in out
    with pytest.raises(ValueError, match="reward must be one of"):
        X.run_reward(0, "bogus")
