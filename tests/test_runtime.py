"""labkit.runtime: rendering backend chosen before mujoco, torch threads, seeds, smoke mode, number checks."""

import os
import random

import numpy as np
import pytest
import torch

from labkit.runtime import (
    check_int,
    check_seed,
    np_rng,
    seed_everything,
    set_torch_threads,
    smoke_mode,
    torch_generator,
)


def test_backend_chosen_before_mujoco():
    import labkit  # noqa: F401

    assert os.environ.get("MUJOCO_GL") in ("egl", "osmesa", "glfw")


def test_check_rendering_renders_a_frame():
    from labkit.runtime import check_rendering

    image = check_rendering()
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8 and image.max() > 0


def test_seed_everything_reproduces_torch_numpy_python():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    seed_everything(7)
    a = draw()
    seed_everything(7)
    assert draw() == a
    g1, g2 = torch_generator(3), torch_generator(3)
    assert torch.equal(torch.randn(5, generator=g1), torch.randn(5, generator=g2))
    assert np_rng(4).random() == np_rng(4).random()
    with pytest.raises(ValueError, match="non-negative"):
        seed_everything(-1)


@pytest.mark.parametrize("value", [0, -3, True, False, 2.5, 2.0, "3", None])
def test_check_int_refuses_what_is_not_a_positive_integer(value):
    with pytest.raises(ValueError, match=r"n_envs must be an integer >= 1\. Got ") as err:
        check_int("n_envs", value)
    assert "\n" not in str(err.value)


def test_check_int_accepts_integers_and_honours_minimum():
    assert check_int("n", 3) == 3 and type(check_int("n", np.int64(3))) is int
    assert check_int("k", 0, minimum=0) == 0
    with pytest.raises(ValueError, match="k must be an integer >= 0"):
        check_int("k", -1, minimum=0)


@pytest.mark.parametrize("value", [-1, True, 1.0, 0.5, "0", None])
def test_check_seed_refuses_negative_bool_float(value):
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer\. Got "):
        check_seed(value)


def test_check_seed_accepts_zero_and_numpy_integers():
    assert check_seed(0) == 0 and check_seed(np.int32(12)) == 12


def test_smoke_mode_and_torch_threads(monkeypatch):
    for value, expected in [("", False), ("0", False), ("false", False), ("1", True), ("yes", True)]:
        monkeypatch.setenv("LABKIT_SMOKE", value)
        assert smoke_mode() is expected
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("LABKIT_TORCH_THREADS", "2")
        assert set_torch_threads() == 2 and torch.get_num_threads() == 2
        monkeypatch.setenv("LABKIT_TORCH_THREADS", "many")
        with pytest.raises(ValueError, match="LABKIT_TORCH_THREADS must be a positive integer"):
            set_torch_threads()
    finally:
        torch.set_num_threads(before)
