"""Decision Transformer (Chen et al., 2021): offline RL as conditional sequence modelling.

A window of the last K steps becomes 3K tokens, one per (return-to-go, state, action)::

    token index :   0     1     2     3     4     5    ...   3K-3    3K-2    3K-1
    token       :  R_1   s_1   a_1   R_2   s_2   a_2   ...   R_K     s_K     a_K
    predicts    :        a_1               a_2                       a_K          (from the s tokens)

Each token is ``Linear(x) + time_embedding(t)`` (C wide), the causal transformer mixes them, and the
action head reads the output at every state token. Because of the causal mask, a_k is predicted
from R_1..R_k, s_1..s_k and a_1..a_{k-1} only: never from a_k itself or anything later.

Training: plain supervised learning on the data's actions (no Bellman backup, no critic)::

    L = mean over real (non-padded) steps k of  CE( logits_k, bin(a_k) )      action_head = "bins"
                                            or  || tanh(head_k) - a_k ||^2    action_head = "mse"

At test time the first return-to-go token is the *target return* we ask for, and after each step
``R <- R - r``. The model has learned "which action did episodes that went on to collect R take
here?" and answers it for our R, including R that no episode in the data collected.

The "bins" head (41 cells per action dimension, as the DT paper's Atari head and the Trajectory
Transformer do for discrete tokens) keeps both routes round the cup; an MSE head averages a left
and a right demonstration into "straight up" (notebook 03's Gaussian BC failure, again).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from labkit.data.episodes import EpisodeDataset
from labkit.models.normalizer import Normalizer
from labkit.pretrain.gpt import CausalTransformer, GPTConfig
from labkit.pretrain.sequences import ActionBins, ContextWindows
from labkit.runtime import check_int, check_seed
from labkit.train.log import TrainLog
from labkit.train.loop import training

__all__ = ["DTConfig", "DecisionTransformer", "train_decision_transformer"]


@dataclass
class DTConfig:
    """Shape and training hyper-parameters of a :class:`DecisionTransformer`."""

    obs_dim: int
    """Size of one observation."""
    action_dim: int
    """Size of one action."""
    context: int = 10
    """K, steps per window (3K tokens)."""
    n_layer: int = 3
    """Transformer blocks."""
    n_head: int = 1
    """Attention heads (the DT paper uses 1)."""
    n_embd: int = 64
    """Token width C."""
    dropout: float = 0.1
    """Dropout in the trunk."""
    max_timestep: int = 128
    """Size of the timestep embedding table (episode length + margin)."""
    return_scale: float = 10.0
    """Returns-to-go are divided by this before embedding (TwoRoutes returns are ~ -1.5 .. 12.6)."""
    action_head: str = "bins"
    """"bins" (a categorical per action dimension) or "mse" (tanh regression, the gym DT)."""
    n_bins: int = 41
    """Cells per action dimension for the "bins" head."""
    lr: float = 6e-4
    """Peak AdamW learning rate."""
    weight_decay: float = 1e-4
    """AdamW weight decay."""
    batch_size: int = 64
    """Windows per update."""
    warmup: int = 100
    """Linear learning-rate warm-up (updates), then cosine decay to 10%."""
    grad_clip: float = 0.25
    """Max gradient norm (the DT code's value)."""

    def __post_init__(self) -> None:
        if self.action_head not in ("bins", "mse"):
            raise ValueError(f"action_head must be 'bins' or 'mse'. Got {self.action_head!r}.")
        if min(self.obs_dim, self.action_dim, self.context, self.max_timestep) < 1 or self.return_scale <= 0:
            raise ValueError(f"dimensions, context, max_timestep must be >= 1 and return_scale > 0. Got {self}.")
        if self.n_bins < 2:
            raise ValueError(f"n_bins must be >= 2. Got {self.n_bins}.")


class DecisionTransformer(nn.Module):
    """Return-conditioned causal transformer over (R, s, a) tokens. See the module docstring."""

    def __init__(self, config: DTConfig) -> None:
        super().__init__()
        self.config = c = config
        self.bins = ActionBins(c.n_bins)
        self.normalizer_obs = Normalizer(c.obs_dim, mode="gaussian")
        self.embed_return = nn.Linear(1, c.n_embd)
        self.embed_state = nn.Linear(c.obs_dim, c.n_embd)
        self.embed_action = nn.Linear(c.action_dim, c.n_embd)
        self.embed_time = nn.Embedding(c.max_timestep, c.n_embd)
        self.embed_ln = nn.LayerNorm(c.n_embd)
        self.trunk = CausalTransformer(GPTConfig(c.n_layer, c.n_head, c.n_embd, c.dropout, max_tokens=3 * c.context))
        out = c.action_dim * (c.n_bins if c.action_head == "bins" else 1)
        self.head = nn.Linear(c.n_embd, out)

    def tokens(
        self, states: torch.Tensor, actions: torch.Tensor, rtg: torch.Tensor, timesteps: torch.Tensor
    ) -> torch.Tensor:
        """(B, K, D), (B, K, A), (B, K, 1) raw returns, (B, K) -> interleaved tokens (B, 3K, C)."""
        B, K, _ = states.shape
        t = self.embed_time(timesteps.clamp(0, self.config.max_timestep - 1))  # (B, K, C)
        r_tok = self.embed_return(rtg / self.config.return_scale) + t  # (B, K, C)
        s_tok = self.embed_state(self.normalizer_obs.normalize(states)) + t  # (B, K, C)
        a_tok = self.embed_action(actions) + t  # (B, K, C)
        stacked = torch.stack([r_tok, s_tok, a_tok], dim=2)  # (B, K, 3, C)
        return self.embed_ln(stacked.reshape(B, 3 * K, -1))  # (B, 3K, C): R_1 s_1 a_1 R_2 ...

    def forward(
        self,
        states: torch.Tensor,
        actions: torch.Tensor,
        rtg: torch.Tensor,
        timesteps: torch.Tensor,
        mask: torch.Tensor | None = None,
        return_attention: bool = False,
    ):
        """Action outputs at every state token.

        :param states: (B, K, D) raw observations.
        :param actions: (B, K, A) actions (the last one may be anything: it is never seen by its own prediction).
        :param rtg: (B, K, 1) returns-to-go (raw units).
        :param timesteps: (B, K) step index within the episode.
        :param mask: (B, K) bool, False on left padding (None = all real).
        :return: ``(out, attention)``: out (B, K, A, n_bins) logits or (B, K, A) actions in [-1, 1];
            attention: per layer (B, n_head, 3K, 3K) if asked, else None.
        """
        B, K, _ = states.shape
        x = self.tokens(states, actions, rtg, timesteps)  # (B, 3K, C)
        pad = None if mask is None else ~mask.repeat_interleave(3, dim=1)  # (B, 3K)
        h, maps = self.trunk(x, key_padding=pad, return_attention=return_attention)  # (B, 3K, C)
        h_state = h.reshape(B, K, 3, -1)[:, :, 1]  # (B, K, C): outputs at s_1..s_K
        out = self.head(h_state)  # (B, K, A * n_bins) or (B, K, A)
        if self.config.action_head == "bins":
            return out.reshape(B, K, self.config.action_dim, self.config.n_bins), maps  # (B, K, A, n_bins)
        return torch.tanh(out), maps  # (B, K, A)

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Action loss over the real steps of a batch from :class:`ContextWindows`."""
        out, _ = self(batch["states"], batch["actions"], batch["rtg"], batch["timesteps"], batch["mask"])
        m = batch["mask"]  # (B, K)
        if self.config.action_head == "bins":
            target = self.bins.to_index(batch["actions"])  # (B, K, A)
            ce = F.cross_entropy(out.flatten(0, 2), target.flatten(), reduction="none")  # (B*K*A,)
            ce = ce.reshape(m.shape[0], m.shape[1], -1).mean(-1)  # (B, K)
            return (ce * m).sum() / m.sum()
        err = ((out - batch["actions"]) ** 2).mean(-1)  # (B, K)
        return (err * m).sum() / m.sum()

    @torch.no_grad()
    def act(
        self,
        states: torch.Tensor,
        actions: torch.Tensor,
        rtg: torch.Tensor,
        timesteps: torch.Tensor,
        mask: torch.Tensor | None = None,
        *,
        sample: bool = False,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """The action (B, A) for the LAST window slot (the current decision).

        :param sample: draw each dimension's cell from ``softmax(logits / temperature)`` (bins head);
            otherwise take the most likely cell.
        """
        out, _ = self(states, actions, rtg, timesteps, mask)
        last = out[:, -1]  # (B, A, n_bins) or (B, A)
        if self.config.action_head == "mse":
            return last
        if sample:
            probs = F.softmax(last / temperature, dim=-1)  # (B, A, n_bins)
            idx = torch.multinomial(probs.flatten(0, 1), 1, generator=generator).reshape(last.shape[:2])  # (B, A)
        else:
            idx = last.argmax(-1)  # (B, A)
        return self.bins.to_value(idx)  # (B, A)


def _lr_factor(it: int, warmup: int, total: int) -> float:
    if it < warmup:
        return (it + 1) / warmup
    progress = (it - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def train_decision_transformer(
    model: DecisionTransformer, data: EpisodeDataset, *, iterations: int = 2000, seed: int = 0, progress: bool = True
) -> TrainLog:
    """Fit ``model`` to the windows of ``data`` (in place; Ctrl-C keeps what was learned).

    :param model: a fresh :class:`DecisionTransformer`; its observation normaliser is fitted here.
    :param data: episodes with rewards.
    :param iterations: updates of ``config.batch_size`` windows.
    :return: a ``TrainLog`` with ``loss`` per update.
    """
    iterations, seed = check_int("iterations", iterations), check_seed(seed)
    c = model.config
    windows = ContextWindows(data, c.context)
    model.normalizer_obs.fit(windows.states)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # dropout
    opt = torch.optim.AdamW(model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda it: _lr_factor(it, c.warmup, iterations))
    log = TrainLog(meta={"method": "Decision Transformer", "seed": seed})
    model.train()
    with training(log, total=iterations, desc="Decision Transformer", progress=progress) as bar:
        for it in range(iterations):
            loss = model.loss(windows.sample(c.batch_size, gen))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), c.grad_clip)
            opt.step()
            sched.step()
            log.add(loss=loss.item())
            log.iterations_done += 1
            bar.update(1)
            if it % 50 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    model.eval()
    return log
