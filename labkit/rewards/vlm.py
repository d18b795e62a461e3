"""A CLIP-style vision-language reward (the VLM-RMs mechanism) with a model TRAINED HERE, not zero-shot.

VLM-RMs (Rocamonde et al. 2023) pays ``cos(CLIP_image(render(s)), CLIP_text(goal))`` with a frozen,
internet-trained CLIP. No such model ships offline for a CPU, so we keep the text side frozen (MiniLM,
:mod:`.text_tower`) and train a small image tower on 64 x 64 renders of the task, contrastively
against the templated captions of :mod:`.captions`. Whatever the reward knows, it learned here from
those captions: it is a self-trained VLM and inherits none of CLIP's zero-shot knowledge.

Training (the image-to-text half of CLIP's loss, per caption group; texts are fixed, so every caption
of a group is a negative for every image)::

    x_i = normalise(image_tower(frame_i))                          (384,)
    loss = CE(softmax_c(tau * x_i . t_c), region caption of i) + CE(same over distance captions)

Reward with the paper's goal-baseline regularisation (``g``: goal text embedding, ``b``: baseline)::

    d = g - b,    P = alpha * d d^T / |d|^2 + (1 - alpha) * I
    r(s) = 1 - || (x(s) - g) P ||^2 / 2

``alpha = 0`` is the plain cosine (``1 - |x - g|^2 / 2 = x . g`` for unit vectors); ``alpha = 1`` keeps
only the component along the baseline-to-goal direction, discarding what the goal and baseline
texts share (e.g. "the robot is ...").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from labkit.train import TrainLog

from .base import LearnedReward, fit
from .captions import CAPTIONS, REGION_CAPTIONS, caption_indices
from .render import StateRenderer
from .text_tower import TEXT_DIM, embed_texts
from .windows import episode_states

__all__ = ["VLMConfig", "ImageTower", "VLMReward", "train_vlm_reward", "sample_free_positions"]


@dataclass
class VLMConfig:
    """Settings of the self-trained vision-language reward.

    :param size: frame size in pixels (frames are ``size x size x 3``).
    :param channels: conv channels of the image tower (each conv halves the resolution).
    :param hidden_dim: width of the MLP head.
    :param n_images: training frames; ``demo_fraction`` of them at demonstration states, the rest at
        uniformly drawn free positions (so the tower has seen the whole arena).
    :param iterations, batch_size, lr: training.
    :param goal: the goal prompt; ``baseline``: the baseline prompt of the regularisation.
    :param alpha: strength of the goal-baseline projection, in [0, 1].
    :param seed: seeds frame positions, initialisation and minibatches.
    """

    size: int = 64
    channels: tuple[int, ...] = (16, 32, 32)
    hidden_dim: int = 128
    n_images: int = 3000
    demo_fraction: float = 0.5
    iterations: int = 1500
    batch_size: int = 64
    lr: float = 1e-3
    goal: str = "the robot is at the goal"
    baseline: str = "the robot is far from the goal"
    alpha: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1]. Got {self.alpha}.")
        if not 0.0 <= self.demo_fraction <= 1.0:
            raise ValueError(f"demo_fraction must be in [0, 1]. Got {self.demo_fraction}.")
        if self.size % (2 ** len(self.channels)) != 0:
            raise ValueError(
                f"size must be divisible by 2**len(channels) = {2 ** len(self.channels)}. Got {self.size}."
            )
        if self.n_images < 1 or self.iterations < 0 or self.batch_size < 1:
            raise ValueError(
                f"n_images, batch_size must be >= 1, iterations >= 0. Got {self.n_images}, "
                f"{self.batch_size}, {self.iterations}."
            )
        self.channels = tuple(int(c) for c in self.channels)


class ImageTower(nn.Module):
    """Small CNN: uint8 frames ``(B, H, W, 3)`` -> unit embeddings ``(B, 384)``.

    Frames are first normalised per pixel with the training frames' mean and std (buffers, fitted by
    :meth:`fit_normalizer`): the scene is the same in every frame, so what is left is mostly the robot.
    """

    pixel_mean: torch.Tensor
    pixel_std: torch.Tensor

    def __init__(self, size: int, channels: tuple[int, ...], hidden_dim: int, out_dim: int = TEXT_DIM) -> None:
        super().__init__()
        self.register_buffer("pixel_mean", torch.zeros(3, size, size))
        self.register_buffer("pixel_std", torch.ones(3, size, size))
        convs, c_in = [], 3
        for c in channels:
            convs += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.ReLU()]
            c_in = c
        self.convs = nn.Sequential(*convs)
        side = size // 2 ** len(channels)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(c_in * side * side, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, out_dim)
        )

    @torch.no_grad()
    def fit_normalizer(self, frames: torch.Tensor) -> None:
        """Per-pixel statistics of uint8 frames ``(N, H, W, 3)``."""
        x = frames.float().div(255.0).permute(0, 3, 1, 2)  # (N, 3, H, W)
        self.pixel_mean.copy_(x.mean(0))
        self.pixel_std.copy_(x.std(0).clamp_min(0.02))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = frames.float().div(255.0).permute(0, 3, 1, 2)  # (B, H, W, 3) -> (B, 3, H, W)
        x = (x - self.pixel_mean) / self.pixel_std
        return F.normalize(self.head(self.convs(x)), dim=-1)  # (B, 384)


def sample_free_positions(n: int, rng: np.random.Generator, obstacle=(0.0, 0.0), half=0.47) -> np.ndarray:
    """``(n, 2)`` uniform positions in the arena, outside the cup's walls (rejection sampling)."""
    out: list[np.ndarray] = []
    while sum(len(o) for o in out) < n:
        p = rng.uniform(-half, half, size=(2 * n, 2))  # (2n, 2)
        dx, dy = p[:, 0] - obstacle[0], p[:, 1] - obstacle[1]
        top = (np.abs(dx) < 0.18) & (dy > -0.01) & (dy < 0.09)  # the cup's top bar, plus the robot's radius
        sides = (np.abs(dx) > 0.08) & (np.abs(dx) < 0.18) & (dy > -0.13) & (dy < 0.01)
        out.append(p[~(top | sides)])
    return np.concatenate(out)[:n]


class VLMReward(LearnedReward):
    """Image tower + frozen text embeddings + the goal-baseline reward. Train with :func:`train_vlm_reward`."""

    name = "vlm"
    caption_emb: torch.Tensor
    goal_emb: torch.Tensor
    baseline_emb: torch.Tensor
    projection: torch.Tensor
    context = 0  # the reward looks at the newest frame only

    def __init__(self, config: VLMConfig, env_id: str, obs_dim: int) -> None:
        super().__init__(env_id, obs_dim)
        self.config = config
        self.tower = ImageTower(config.size, config.channels, config.hidden_dim)
        self.logit_scale = nn.Parameter(torch.tensor(np.log(1 / 0.07), dtype=torch.float32))
        self.register_buffer("caption_emb", torch.zeros(len(CAPTIONS), TEXT_DIM))  # frozen MiniLM, (C, 384)
        self.register_buffer("goal_emb", torch.zeros(1, TEXT_DIM))
        self.register_buffer("baseline_emb", torch.zeros(1, TEXT_DIM))
        self.register_buffer("projection", torch.eye(TEXT_DIM))
        self._renderer: StateRenderer | None = None
        self.alpha = config.alpha

    # --- frames ---------------------------------------------------------------------------------
    @property
    def renderer(self) -> StateRenderer:
        if self._renderer is None:
            self._renderer = StateRenderer(self.env_id, self.config.size)
        return self._renderer

    @torch.no_grad()
    def embed_frames(self, frames: np.ndarray, batch: int = 256) -> torch.Tensor:
        """Unit image embeddings ``(N, 384)`` of uint8 frames ``(N, size, size, 3)``."""
        chunks = [self.tower(torch.as_tensor(frames[i : i + batch])) for i in range(0, len(frames), batch)]
        return torch.cat(chunks) if chunks else torch.zeros(0, TEXT_DIM)

    def embed_positions(self, positions: np.ndarray) -> torch.Tensor:
        """Render robot positions ``(N, 2)`` and embed them: ``(N, 384)``."""
        return self.embed_frames(self.renderer.render(np.asarray(positions).reshape(-1, 2)))

    # --- the reward -----------------------------------------------------------------------------
    def set_goal(self, goal: str | None = None, baseline: str | None = None, alpha: float | None = None) -> None:
        """Change the goal prompt, the baseline prompt or alpha (texts are embedded with MiniLM)."""
        if goal is not None:
            self.goal_emb.copy_(embed_texts([goal]))
            self.config.goal = goal
        if baseline is not None:
            self.baseline_emb.copy_(embed_texts([baseline]))
            self.config.baseline = baseline
        if alpha is not None:
            if not 0.0 <= alpha <= 1.0:
                raise ValueError(f"alpha must be in [0, 1]. Got {alpha}.")
            self.alpha = float(alpha)
        self.projection.copy_(goal_baseline_projection(self.goal_emb, self.baseline_emb, self.alpha))

    @torch.no_grad()
    def reward_from_embeddings(
        self, emb: torch.Tensor, goal_emb: torch.Tensor | None = None, projection: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``1 - |(x - g) P|^2 / 2`` (N,) for unit image embeddings ``(N, 384)``."""
        g = self.goal_emb if goal_emb is None else goal_emb
        P = self.projection if projection is None else projection
        return 1.0 - ((emb - g) @ P).pow(2).sum(-1) / 2.0

    def step_reward(self, window: np.ndarray, actions: np.ndarray | None = None) -> dict[str, np.ndarray]:
        window = self._check_window(window)
        r = self.reward_from_embeddings(self.embed_positions(window[:, -1, :2])).numpy().astype(np.float64)
        return {"total": r, "model": r}

    def __getstate__(self) -> dict:  # copies rebuild their own renderer
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__.copy()
        state = dict(state)
        state["_renderer"] = None
        return state


def goal_baseline_projection(goal_emb: torch.Tensor, baseline_emb: torch.Tensor, alpha: float) -> torch.Tensor:
    """``P = alpha * d d^T / |d|^2 + (1 - alpha) I`` with ``d = goal - baseline``; ``(384, 384)``."""
    d = goal_emb - baseline_emb  # (1, 384)
    line = d.T @ d / d.pow(2).sum().clamp_min(1e-12)  # (384, 384)
    return alpha * line + (1.0 - alpha) * torch.eye(d.shape[-1])


def train_vlm_reward(demos, config: VLMConfig | None = None, progress: bool = True) -> tuple[VLMReward, TrainLog]:
    """Render frames, caption them, train the image tower against frozen MiniLM; set the goal.

    :return: the reward model and the log; ``log.meta["caption_accuracy"]`` holds held-out accuracy per caption group.
    """
    config = config or VLMConfig()
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    model = VLMReward(config, env_id=demos.metadata["env_id"], obs_dim=int(demos.obs_dim))
    demo_pos = np.concatenate([s[:, :2] for s in episode_states(demos)])  # (N_demo, 2)
    n_demo = int(round(config.demo_fraction * config.n_images))
    pos = np.concatenate(
        [demo_pos[rng.integers(0, len(demo_pos), n_demo)], sample_free_positions(config.n_images - n_demo, rng)]
    )  # (n_images, 2)
    frames = torch.as_tensor(model.renderer.render(pos))  # (n, size, size, 3) uint8
    labels = torch.as_tensor(caption_indices(pos))  # (n, 2): region, distance
    model.tower.fit_normalizer(frames)
    model.caption_emb.copy_(embed_texts(CAPTIONS))
    n_reg = len(REGION_CAPTIONS)
    n_hold = max(1, len(pos) // 10)
    perm = torch.randperm(len(pos), generator=torch.Generator().manual_seed(config.seed))
    hold, train = perm[:n_hold], perm[n_hold:]
    opt = torch.optim.Adam(list(model.tower.parameters()) + [model.logit_scale], lr=config.lr)
    gen = torch.Generator().manual_seed(config.seed)

    def logits_of(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = model.tower(frames[idx])  # (b, 384)
        logits = model.logit_scale.exp().clamp(max=100.0) * x @ model.caption_emb.T  # (b, C)
        return logits[:, :n_reg], logits[:, n_reg:]

    def step(i: int) -> float:
        idx = train[torch.randint(0, len(train), (config.batch_size,), generator=gen)]
        reg, dist = logits_of(idx)
        loss = F.cross_entropy(reg, labels[idx, 0]) + F.cross_entropy(dist, labels[idx, 1] - n_reg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    model.train()
    log = fit(step, config.iterations, "vision-language reward", progress)
    model.eval()
    with torch.no_grad():
        reg, dist = logits_of(hold)
    log.meta["caption_accuracy"] = {
        "region": float((reg.argmax(1) == labels[hold, 0]).float().mean()),
        "distance": float((dist.argmax(1) + n_reg == labels[hold, 1]).float().mean()),
    }
    model.set_goal(config.goal, config.baseline, config.alpha)
    return model, log
