"""Embedding NeRFs of any architecture (Ballerini et al. 2025, "Embed Any NeRF", §3 and appendix
B): the graph meta-network encoder (:mod:`nf2vec_core.encoders.gmn`) over the parameter graphs of
NeRFs of several architectures (:mod:`.param_graph`), trained end to end with nf2vec's implicit
decoder and volume renderer.

Data: ``K`` architectures ``archs[k]`` with NeRFs ``thetas[k] [N, P_k]`` of the same ``N`` objects
in the same row order (row ``i`` of every architecture is object ``i``), and the objects' training
views ``scenes`` (:class:`~.fit.SceneBatch`, row ``i`` = object ``i``). A batch draws
``batch_size`` objects and, for each, two different architectures (an ordered pair drawn uniformly;
with two architectures, the MLP and the tri-plane NeRF of the object in either order): the positive
pairs ``(x_i, y_i)`` of Eq. 3. With one architecture (the single-architecture setting) a batch is
``batch_size`` NeRFs and only the rendering loss applies.

Losses (``loss``):

* ``render`` -- L_R (Eq. 2): the mean over the batch's ``2B`` NeRFs of nf2vec's rendering loss
  (smooth-L1 on ``rays_per_item`` training rays of the object, foreground/background weighted
  0.8/0.2), the decoder rendered from each NeRF's embedding (:func:`.encoder.render_loss`, the
  nf2vec-on-NeRFs code path; no distillation);
* ``contrastive`` -- L_C (Eq. 3): the SigLIP loss between the embeddings of the ``x`` and the ``y``
  NeRFs (:class:`~nf2vec_core.train.contrastive.SigLIPLoss`, learnable ``t'``, ``b``; the decoder is
  not used);
* ``render_contrastive`` -- L_R+C (Eq. 4): ``L_R + contrastive_weight * L_C`` (paper: 2e-2).

Training: AdamW (the SigLIP scale and bias without weight decay), one-cycle schedule stepped per
batch, gradient-norm clipping; after each epoch the same loss on the validation objects (fixed
architecture pairs, fixed rays, batches of ``batch_size`` in order), the weights of the lowest
validation loss kept. Deterministic from ``seed`` on CPU: the model init, the object order and
architecture pairs (a NumPy generator) and the rays (one generator per item and step) all derive
from it. With ``state_path`` the whole state is written after every epoch (safetensors,
:mod:`nf2vec_core.store.treefile`) and a run that finds it continues from there with the same result
as an uninterrupted run.
"""
from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..decoders.implicit import ImplicitDecoderConfig
from ..encoders.gmn import GMNConfig, GMNEncoder
from ..encoders.param_graph import concat_graphs, param_graphs
from ..errors import BadInputError, ConfigError
from ..nf.init import _derive
from ..store.treefile import load_tree, save_tree
from ..train.contrastive import SigLIPLoss
from ..validation import Rule, nonnegative
from .arch import NerfArch
from .encoder import NerfDecoder, NerfEncoderParams, render_loss
from .fit import SceneBatch
from .param_graph import nerf_graph_arch

LossName = Literal["render", "render_contrastive", "contrastive"]
LOSSES: tuple[str, ...] = ("render", "render_contrastive", "contrastive")
_LOSS = Rule(lambda v: v in LOSSES, f"must be one of {list(LOSSES)}", numeric=False)


@dataclass(frozen=True)
class AnyNerfParams:
    """The ``anynerf.train`` section: encoder sizes, losses and training (defaults: appendix B)."""

    loss: LossName = field(default="render_contrastive", metadata={"rule": _LOSS})  # render | render_contrastive | contrastive
    contrastive_weight: float = field(default=2e-2, metadata={"rule": nonnegative})  # lambda of Eq. 4
    gmn: GMNConfig = field(default_factory=GMNConfig)       # hidden 128, 4 layers, embeddings of 1024
    epochs: int = 250
    batch_size: int = 8                  # objects (positive pairs) per batch
    lr: float = 1e-4                     # one-cycle maximum
    weight_decay: float = 1e-2
    rays_per_item: int = 128             # training rays per NeRF and step
    samples_per_ray: int = 24
    fg_weight: float = 0.8
    bg_weight: float = 0.2
    fg_fraction: float = 0.0             # share of each NeRF's rays drawn on foreground pixels
    grad_clip: float = 1.0               # max gradient norm (0 = off)
    density_bias: float = -4.0           # initial raw density of the decoder
    siglip_log_scale: float = math.log(10.0)   # t' at init (Zhai et al. 2023)
    siglip_bias: float = -10.0           # b at init
    seed: int = 0

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ConfigError(f"param 'loss' must be one of {list(LOSSES)}, got {self.loss!r}")
        if self.batch_size < 2 and self.loss != "render":
            raise ConfigError(f"param 'batch_size' must be >= 2 for a contrastive loss (negatives), got {self.batch_size}")

    @property
    def uses_render(self) -> bool:
        return self.loss != "contrastive"

    @property
    def uses_contrastive(self) -> bool:
        return self.loss != "render"

    def render_params(self) -> NerfEncoderParams:
        """The rendering-loss settings in the form :func:`.encoder.render_loss` reads."""
        return NerfEncoderParams(rays_per_item=self.rays_per_item, samples_per_ray=self.samples_per_ray,
                                 fg_weight=self.fg_weight, bg_weight=self.bg_weight, fg_fraction=self.fg_fraction,
                                 distill=0.0, seed=self.seed)

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, d: dict) -> "AnyNerfParams":
        return cls(**{**d, "gmn": GMNConfig(**d["gmn"])})


@dataclass
class AnyNerfModels:
    """The trained parts: encoder, decoder (render losses) and the SigLIP scale and bias."""

    encoder: GMNEncoder
    decoder: NerfDecoder
    siglip: SigLIPLoss

    def modules(self) -> dict[str, nn.Module]:
        return {"encoder": self.encoder, "decoder": self.decoder, "siglip": self.siglip}

    def state(self) -> dict[str, dict[str, torch.Tensor]]:
        return {k: copy.deepcopy(m.state_dict()) for k, m in self.modules().items()}

    def load(self, state: dict[str, dict[str, torch.Tensor]]) -> None:
        for k, m in self.modules().items():
            m.load_state_dict(state[k])

    def train(self, mode: bool = True) -> None:
        for m in self.modules().values():
            m.train(mode)


def build_models(field_arch: NerfArch, p: AnyNerfParams, dec: ImplicitDecoderConfig) -> AnyNerfModels:
    """Encoder, decoder and SigLIP parameters initialised from ``p.seed``. ``field_arch`` gives the
    decoder's box and activations (any of the training architectures: they share them)."""
    torch.manual_seed(p.seed)
    enc = GMNEncoder(p.gmn)
    return AnyNerfModels(enc, NerfDecoder(field_arch, p.gmn.embed_dim, dec, density_bias=p.density_bias),
                         SigLIPLoss(p.siglip_log_scale, p.siglip_bias))


def check_archs(archs: Sequence[NerfArch], thetas: Sequence[torch.Tensor], scenes: SceneBatch | None) -> int:
    """The number of objects ``N`` after checking that every architecture has ``N`` NeRFs of its
    size, one field box and activation (the decoder renders them all), and ``scenes`` ``N`` objects."""
    if not archs or len(archs) != len(thetas):
        raise BadInputError(None, f"anynerf: {len(archs)} architectures for {len(thetas)} NeRF sets")
    n = int(thetas[0].shape[0])
    for a, t in zip(archs, thetas):
        if t.dim() != 2 or t.shape != (n, a.num_params):
            raise BadInputError(None, f"anynerf: a {a.kind} NeRF set is {tuple(t.shape)}, expected ({n}, {a.num_params}) "
                                      "(every architecture holds the same objects in the same order)")
        if (a.aabb, a.density_activation, a.density_shift) != (archs[0].aabb, archs[0].density_activation,
                                                              archs[0].density_shift):
            raise BadInputError(None, "anynerf: the architectures differ in aabb or density activation")
    if scenes is not None and scenes.n != n:
        raise BadInputError(None, f"anynerf: {scenes.n} objects' views for {n} NeRFs per architecture")
    return n


def embed_items(encoder: GMNEncoder, archs: Sequence[NerfArch], thetas: Sequence[torch.Tensor],
                which: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Embeddings ``[n, D]`` of items ``j``: NeRF ``rows[j]`` of architecture ``which[j]``; one
    encoder pass over the graphs of all items (grouped by architecture, returned in item order)."""
    graphs, order = [], []
    dev = next(encoder.parameters()).device
    for k in torch.unique(which).tolist():
        sel = (which == k).nonzero().flatten()
        graphs.append(param_graphs(nerf_graph_arch(archs[k]), thetas[k][rows[sel]].to(dev)))
        order.append(sel)
    emb = encoder(concat_graphs(graphs))
    return emb[torch.argsort(torch.cat(order)).to(dev)]


@torch.no_grad()
def embed_nerfs(encoder: GMNEncoder, arch: NerfArch, theta: torch.Tensor, batch: int = 64) -> torch.Tensor:
    """Embeddings ``[N, D]`` (CPU) of NeRFs ``theta [N, P]`` of one architecture (eval mode)."""
    encoder.eval()
    dev = next(encoder.parameters()).device
    ga = nerf_graph_arch(arch)
    out = [encoder(param_graphs(ga, theta[a:a + batch].to(dev))).cpu() for a in range(0, theta.shape[0], batch)]
    return torch.cat(out) if out else torch.zeros(0, encoder.embed_dim)


def arch_pairs(rng: np.random.Generator, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Two different architectures ``(a [n], b [n])`` out of ``k >= 2`` for each of ``n`` objects,
    an ordered pair drawn uniformly."""
    a = rng.integers(0, k, size=n)
    return a, (a + 1 + rng.integers(0, k - 1, size=n)) % k


def batch_items(objs: np.ndarray, k: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``(which, rows)`` of a batch of objects ``objs``: ``x`` items then ``y`` items (positive
    pairs ``j`` and ``B + j``) with ``k >= 2`` architectures, the objects themselves with one."""
    rows = torch.as_tensor(objs, dtype=torch.long)
    if k == 1:
        return torch.zeros_like(rows), rows
    a, b = arch_pairs(rng, len(objs), k)
    return torch.as_tensor(np.concatenate([a, b]), dtype=torch.long), torch.cat([rows, rows])


def _gens(seed: int, step: int, n: int) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(_derive(seed, step * 4096 + j)) for j in range(n)]


def _scenes(scenes: SceneBatch, rows: torch.Tensor, dev: torch.device) -> SceneBatch:
    return SceneBatch(scenes.premult[rows].to(dev), scenes.alpha[rows].to(dev), scenes.c2w[rows].to(dev),
                      scenes.focal[rows].to(dev))


def batch_loss(models: AnyNerfModels, archs: Sequence[NerfArch], thetas: Sequence[torch.Tensor], scenes: SceneBatch | None,
               which: torch.Tensor, rows: torch.Tensor, gens: list[torch.Generator], p: AnyNerfParams
               ) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss ``p.loss`` of one batch of items (:func:`batch_items`) and its terms."""
    dev = next(models.encoder.parameters()).device
    emb = embed_items(models.encoder, archs, thetas, which, rows)
    terms: dict[str, torch.Tensor] = {}
    if p.uses_render:
        if scenes is None:
            raise BadInputError(None, f"anynerf: the loss {p.loss!r} renders, it needs the objects' views")
        terms["render"] = render_loss(lambda _: emb, models.decoder, None, _scenes(scenes, rows, dev), gens,
                                      p.render_params())
    if p.uses_contrastive:
        half = emb.shape[0] // 2
        terms["contrastive"] = models.siglip(emb[:half], emb[half:])
    if p.loss == "render":
        loss = terms["render"]
    elif p.loss == "contrastive":
        loss = terms["contrastive"]
    else:
        loss = terms["render"] + p.contrastive_weight * terms["contrastive"]
    return loss, {k: float(v.detach()) for k, v in terms.items()}


@torch.no_grad()
def evaluate_loss(models: AnyNerfModels, archs: Sequence[NerfArch], thetas: Sequence[torch.Tensor],
                  scenes: SceneBatch | None, p: AnyNerfParams) -> float:
    """The loss on fixed batches of the given objects (in order, ``batch_size`` each, architecture
    pairs and rays from ``seed + 1``), weighted by batch size; eval mode."""
    models.train(False)
    n = int(thetas[0].shape[0])
    rng = np.random.default_rng(p.seed + 1)
    total, count = 0.0, 0
    for a in range(0, n, p.batch_size):
        objs = np.arange(a, min(n, a + p.batch_size))
        if len(objs) < 2 and p.uses_contrastive:
            continue
        which, rows = batch_items(objs, len(archs), rng)
        loss, _ = batch_loss(models, archs, thetas, scenes, which, rows, _gens(p.seed + 1, a, len(rows)), p)
        total, count = total + float(loss) * len(objs), count + len(objs)
    return total / max(count, 1)


@dataclass
class AnyNerfResult:
    models: AnyNerfModels
    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int = -1
    best_val_loss: float = math.inf
    seconds: float = 0.0


def _optimizer(models: AnyNerfModels, p: AnyNerfParams) -> torch.optim.Optimizer:
    nets = list(models.encoder.parameters()) + list(models.decoder.parameters())
    return torch.optim.AdamW([{"params": nets}, {"params": list(models.siglip.parameters()), "weight_decay": 0.0}],
                             lr=p.lr, weight_decay=p.weight_decay)


def train_anynerf(archs: Sequence[NerfArch], thetas: Sequence[torch.Tensor], scenes: SceneBatch | None,
                  val: tuple[Sequence[torch.Tensor], SceneBatch | None] | None, p: AnyNerfParams,
                  dec: ImplicitDecoderConfig, *, device: torch.device | str = "cpu", progress: bool = True,
                  state_path: Path | None = None, max_epochs: int | None = None) -> AnyNerfResult:
    """Train the encoder (and decoder) on the NeRFs ``thetas[k]`` of architectures ``archs[k]``
    (module docstring); ``val``: the validation objects' NeRFs (same architectures) and views.

    ``scenes`` may be None for the ``contrastive`` loss (nothing is rendered).
    ``max_epochs`` stops after that many epochs of the ``p.epochs`` schedule (the state file then
    resumes the rest)."""
    n = check_archs(archs, thetas, scenes)
    k = len(archs)
    if k == 1 and p.uses_contrastive:
        raise ConfigError(f"param 'anynerf.train.loss': {p.loss!r} needs NeRFs of two architectures or more "
                          "(positive pairs); one architecture trains with 'render'")
    if val is not None:
        check_archs(archs, val[0], val[1])
    dev = torch.device(device)
    models = build_models(archs[0], p, dec)
    for m in models.modules().values():
        m.to(dev)
    opt = _optimizer(models, p)
    steps_per_epoch = max(1, n // p.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[p.lr, p.lr], total_steps=p.epochs * steps_per_epoch)
    rng = np.random.default_rng(p.seed)
    res = AnyNerfResult(models, {"train_loss": [], "val_loss": [], "render": [], "contrastive": []})
    best = None
    arch_json = [a.to_json() for a in archs]
    start, step = 0, 0
    if state_path is not None and Path(state_path).is_file():
        st = load_tree(state_path)
        if st["params"] != p.to_dict() or st["archs"] != arch_json or st["decoder_config"] != dec.to_dict():
            raise ConfigError(f"{state_path}: cannot resume, the anynerf settings differ from the saved state")
        models.load(st["models"])
        opt.load_state_dict(st["optimizer"])
        sched.load_state_dict(st["scheduler"])
        rng.bit_generator.state = st["rng"]
        start, step = int(st["epoch"]), int(st["step"])
        res.history = {key: list(v) for key, v in st["history"].items()}
        res.best_epoch, res.best_val_loss = int(st["best_epoch"]), float(st["best_val_loss"])
        best = st["best"]
    stop = p.epochs if max_epochs is None else min(p.epochs, start + max_epochs)
    t0 = time.perf_counter()
    params = [q for g in opt.param_groups for q in g["params"]]
    bar = tqdm(range(start, stop), desc=f"anynerf ({p.loss})", unit="epoch", disable=not progress,
               initial=start, total=p.epochs)
    for epoch in bar:
        models.train(True)
        perm = rng.permutation(n)
        losses, terms = [], {"render": [], "contrastive": []}
        for s in range(steps_per_epoch):
            which, rows = batch_items(perm[s * p.batch_size:(s + 1) * p.batch_size], k, rng)
            loss, parts = batch_loss(models, archs, thetas, scenes, which, rows, _gens(p.seed, step, len(rows)), p)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"anynerf: non-finite loss at epoch {epoch}, step {step} "
                                         "(lower anynerf.train.lr or grad_clip)")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if p.grad_clip > 0:
                nn.utils.clip_grad_norm_(params, p.grad_clip)
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            for key, v in parts.items():
                terms[key].append(v)
            step += 1
        val_loss = evaluate_loss(models, archs, val[0], val[1], p) if val is not None else float(np.mean(losses))
        res.history["train_loss"].append(float(np.mean(losses)))
        res.history["val_loss"].append(val_loss)
        for key, v in terms.items():
            res.history[key].append(float(np.mean(v)) if v else float("nan"))
        if val_loss < res.best_val_loss:
            res.best_val_loss, res.best_epoch, best = val_loss, epoch, models.state()
        bar.set_postfix(train=f"{np.mean(losses):.4f}", val=f"{val_loss:.4f}")
        if state_path is not None:
            save_tree(state_path, {
                "params": p.to_dict(), "archs": arch_json, "decoder_config": dec.to_dict(), "epoch": epoch + 1,
                "step": step, "models": models.state(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                "rng": rng.bit_generator.state, "history": res.history, "best_epoch": res.best_epoch,
                "best_val_loss": res.best_val_loss, "best": best})
    if stop == p.epochs and best is not None:
        models.load(best)
    models.train(False)
    res.seconds = time.perf_counter() - t0
    return res


def save_checkpoint(path: str | Path, res: AnyNerfResult, archs: Sequence[NerfArch], p: AnyNerfParams,
                    dec: ImplicitDecoderConfig) -> Path:
    """The trained encoder, decoder and SigLIP parameters with what rebuilds them (safetensors + JSON)."""
    return save_tree(path, {"models": res.models.state(), "archs": [a.to_json() for a in archs],
                            "params": p.to_dict(), "decoder_config": dec.to_dict(),
                            "best_epoch": res.best_epoch, "best_val_loss": res.best_val_loss})


def load_checkpoint(path: str | Path) -> tuple[list[NerfArch], AnyNerfModels, AnyNerfParams]:
    """``(training architectures, models in eval mode, params)`` from :func:`save_checkpoint`'s file."""
    ckpt = load_tree(path)
    missing = {"models", "archs", "params", "decoder_config"} - set(ckpt)
    if missing:
        raise BadInputError(path, f"not an anynerf checkpoint (missing {sorted(missing)})")
    archs = [NerfArch.from_json(a) for a in ckpt["archs"]]
    p = AnyNerfParams.from_dict(ckpt["params"])
    models = build_models(archs[0], p, ImplicitDecoderConfig.from_dict(ckpt["decoder_config"]))
    models.load(ckpt["models"])
    models.train(False)
    return archs, models, p


__all__ = ["AnyNerfParams", "AnyNerfModels", "AnyNerfResult", "LOSSES", "build_models", "check_archs", "embed_items",
           "embed_nerfs", "arch_pairs", "batch_items", "batch_loss", "evaluate_loss", "train_anynerf",
           "save_checkpoint", "load_checkpoint"]
