"""nf2vec on NeRFs (paper 000 §VI): the row encoder over a NeRF's weights, an implicit decoder that
predicts colour and density from (embedding, point), trained end to end through the volume
renderer against the objects' training views (smooth-L1, foreground/background weighted 0.8/0.2).

Encoder input: every linear layer of the MLP NeRF as rows ``[W_i | b_i]`` (one row per output
neuron: 64 rows each for the three hidden layers, 4 for the output layer), zero-padded to the
widest row (65 features for 3×64). Tri-plane NeRFs are not row-encodable (their planes are not
neuron rows); paper 003's graph meta-network handles them.

The decoder is :class:`~nf2vec_core.decoders.implicit.ImplicitDecoder` with 4 outputs, fed the
point in box coordinates (the NeRF's own normalisation), its outputs activated like the NeRF's
(:func:`.arch.activate`) and rendered by :func:`.render.render_field` with the same sampler.
"""
from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..decoders.implicit import ImplicitDecoder, ImplicitDecoderConfig
from ..encoders.rows import RowEncoder, RowEncoderConfig
from ..errors import BadInputError, ConfigError
from ..nf.init import _derive
from ..store.treefile import load_tree, save_tree
from .arch import NerfArch, activate, normalize_points, radiance, unflatten
from .fit import NerfFitConfig, SceneBatch, nerf_loss
from .render import render_field, render_images
from .render_config import RenderConfig


# ------------------------------------------------------------------------------- rows
def nerf_row_width(arch: NerfArch) -> int:
    return max(fan_in for _, fan_in, _ in arch.linear_layers()) + 1


def nerf_rows(arch: NerfArch, theta: torch.Tensor) -> torch.Tensor:
    """Encoder input ``[N, S, H]`` of MLP NeRFs ``theta [N, P]``: rows ``[W_i | b_i]``, zero-padded."""
    if arch.kind != "mlp":
        raise ConfigError(f"nf2vec on NeRFs: the row encoder needs an 'mlp' NeRF, got {arch.kind!r} (its grids are "
                          "not neuron rows)")
    p = unflatten(arch, theta)
    width = nerf_row_width(arch)
    rows = []
    for name, fan_in, _ in arch.linear_layers():
        r = torch.cat([p[f"{name}.weight"], p[f"{name}.bias"].unsqueeze(-1)], dim=-1)      # [N, out, in+1]
        rows.append(nn.functional.pad(r, (0, width - fan_in - 1)))
    return torch.cat(rows, dim=1)


# ---------------------------------------------------------------------------- decoder
DENSITY_RAW_MAX = 15.0
class NerfDecoder(nn.Module):
    """``radiance(emb [B, D], points [B, M, 3]) -> (rgb [B, M, 3], sigma [B, M])``."""

    def __init__(self, arch: NerfArch, embed_dim: int, cfg: ImplicitDecoderConfig, density_bias: float = 0.0):
        super().__init__()
        self.arch = arch
        self.net = ImplicitDecoder(embed_dim, in_dim=3, out_dim=4, cfg=cfg)
        with torch.no_grad():           # start (nearly) transparent: an untrained decoder renders empty space,
            self.net.out.bias[3] = density_bias     # not a grey fog filling the box

    def radiance(self, emb: torch.Tensor, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        u = normalize_points(self.arch, points) * 2.0 - 1.0
        raw = self.net(emb, u)
        # trunc_exp clamps only its gradient: a raw density above ~88 overflows to inf and an empty
        # interval (delta = 0) then composites to NaN, so the decoder's raw density is capped
        raw = torch.cat([raw[..., :3], raw[..., 3:].clamp(max=DENSITY_RAW_MAX)], dim=-1)
        return activate(self.arch, raw)


@dataclass(frozen=True)
class NerfEncoderParams:
    """The ``nerf.encoder`` section: encoder sizes and the render-loss training."""

    hidden: tuple[int, ...] = (256, 256, 512, 512)
    embed_dim: int = 512
    row_positions: bool = True
    lr: float = 3e-3
    weight_decay: float = 1e-2
    epochs: int = 360
    batch_size: int = 4
    rays_per_item: int = 128
    samples_per_ray: int = 24
    fg_weight: float = 0.8
    bg_weight: float = 0.2
    grad_clip: float = 1.0             # max gradient norm (0 = off)
    density_bias: float = -4.0         # initial raw density of the decoder (before the NeRF's density_shift)
    fg_fraction: float = 0.0           # share of each item's training rays drawn on foreground pixels
    distill: float = 0.0               # weight of the per-sample distillation of the input NeRF (0 = off)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.distill < 0:
            raise ConfigError(f"nerf.encoder.distill: must be >= 0, got {self.distill}")

    def encoder_config(self) -> RowEncoderConfig:
        return RowEncoderConfig(hidden=tuple(self.hidden), embed_dim=self.embed_dim, include_input=True,
                                include_output=True, row_positions=self.row_positions)

    def render_config(self) -> RenderConfig:
        return RenderConfig(samples_per_ray=self.samples_per_ray, estimator="batched")

    def loss_config(self) -> NerfFitConfig:
        return NerfFitConfig(loss="smooth_l1", fg_weight=self.fg_weight, bg_weight=self.bg_weight)


def build_nerf_models(arch: NerfArch, p: NerfEncoderParams, dec: ImplicitDecoderConfig) -> tuple[RowEncoder, NerfDecoder]:
    s = int(nerf_rows(arch, torch.zeros(1, arch.num_params)).shape[1])
    torch.manual_seed(p.seed)
    return (RowEncoder(nerf_row_width(arch), p.encoder_config(), num_rows=s),
            NerfDecoder(arch, p.embed_dim, dec, density_bias=p.density_bias))


def sample_rays(scenes: SceneBatch, gens: list[torch.Generator], rays: int, fg_fraction: float
                ) -> tuple[torch.Tensor, ...]:
    """``rays`` training rays per scene over a white background, ``fg_fraction`` of them on the
    foreground (:meth:`SceneBatch.sample`)."""
    return scenes.sample(gens, rays, "white", fg_fraction)


def distill_loss(arch: NerfArch, theta: torch.Tensor, points: torch.Tensor, rgb: torch.Tensor, sigma: torch.Tensor,
                 delta: float) -> torch.Tensor:
    """Per-sample distillation of the input NeRFs ``theta [B, P]`` into the decoder's field at the
    render samples ``points [B, M, 3]`` (decoder outputs ``rgb [B, M, 3]``, ``sigma [B, M]``):
    ``|alpha_dec - alpha_nerf| + alpha_nerf * |rgb_dec - rgb_nerf|`` (colour where the NeRF is
    dense), mean over samples, with ``alpha = 1 - exp(-sigma * delta)`` at a reference step ``delta``.

    The render loss gives one target per ray of ``samples_per_ray`` samples; this gives one per
    sample, from the field the embedding was computed from, at no extra decoder cost (the samples
    are the render's own)."""
    with torch.no_grad():
        rgb_n, sigma_n = radiance(arch, theta, points)
        a_n = -torch.expm1(-sigma_n * delta)
    a_d = -torch.expm1(-sigma * delta)
    return (a_d - a_n).abs().mean() + (a_n.unsqueeze(-1) * (rgb - rgb_n).abs()).mean()


def render_loss(encoder: RowEncoder, decoder: NerfDecoder, rows: torch.Tensor, scenes: SceneBatch,
                gens: list[torch.Generator], p: NerfEncoderParams, theta: torch.Tensor | None = None) -> torch.Tensor:
    """Mean render loss of a batch: embed, render ``rays_per_item`` training rays per item. With
    ``p.distill > 0`` (and the items' NeRFs ``theta``) the weighted :func:`distill_loss` is added."""
    origins, dirs, target, alpha, bg, jitter = sample_rays(scenes, gens, p.rays_per_item, p.fg_fraction)
    emb = encoder(rows)
    seen: list[tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]] = []

    def field(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = decoder.radiance(emb, x)
        seen.append((x, out))
        return out
    out = render_field(field, origins, dirs, p.render_config(), decoder.arch.aabb, background=bg, jitter=jitter)
    loss = nerf_loss(out.color, target, alpha, p.loss_config()).mean()
    if p.distill > 0 and theta is not None:
        box = torch.as_tensor(decoder.arch.aabb)
        delta = float(torch.linalg.vector_norm(box[3:] - box[:3])) / p.samples_per_ray
        x, (rgb, sigma) = seen[0]
        loss = loss + p.distill * distill_loss(decoder.arch, theta, x, rgb, sigma, delta)
    return loss


@dataclass
class NerfTrainResult:
    encoder: RowEncoder
    decoder: NerfDecoder
    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int = -1
    best_val_loss: float = math.inf
    seconds: float = 0.0


def _gens(seed: int, step: int, n: int) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(_derive(seed, step * 4096 + j)) for j in range(n)]


def train_nerf_nf2vec(arch: NerfArch, train: tuple[torch.Tensor, SceneBatch], val: tuple[torch.Tensor, SceneBatch],
                      p: NerfEncoderParams, dec: ImplicitDecoderConfig, *, device: torch.device | str = "cpu",
                      progress: bool = True, state_path: Path | None = None) -> NerfTrainResult:
    """Train encoder + decoder on ``train = (theta [N, P], views)``; keep the weights with the lowest
    render loss on ``val`` (other NeRFs, their training views, fixed rays).

    With ``state_path`` the full training state (weights, optimizer, schedule, RNG, best weights) is
    written there after every epoch, and a run that finds it continues from the next epoch: the
    result is the same as an uninterrupted run's."""
    dev = torch.device(device)
    encoder, decoder = build_nerf_models(arch, p, dec)
    encoder.to(dev)
    decoder.to(dev)
    params = list(encoder.parameters()) + list(decoder.parameters())
    opt = torch.optim.AdamW(params, lr=p.lr, weight_decay=p.weight_decay)
    theta_tr = train[0].to(dev)
    rows_tr = nerf_rows(arch, theta_tr)
    rows_va = nerf_rows(arch, val[0]).to(dev)
    n = rows_tr.shape[0]
    steps_per_epoch = max(1, n // p.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=p.lr, total_steps=p.epochs * steps_per_epoch)
    rng = np.random.default_rng(p.seed)
    res = NerfTrainResult(encoder, decoder, {"train_loss": [], "val_loss": []})
    best = None
    t0 = time.perf_counter()
    start, step = 0, 0
    if state_path is not None and Path(state_path).is_file():
        st = load_tree(state_path)
        if st["params"] != json.loads(json.dumps(asdict(p))) or st["arch"] != arch.to_json():
            raise ConfigError(f"{state_path}: cannot resume, the NeRF encoder settings differ from the saved state")
        encoder.load_state_dict(st["encoder"])
        decoder.load_state_dict(st["decoder"])
        opt.load_state_dict(st["optimizer"])
        sched.load_state_dict(st["scheduler"])
        rng.bit_generator.state = st["rng"]
        torch.set_rng_state(st["torch_rng"])
        start, step = int(st["epoch"]), int(st["step"])
        res.history = {k: list(v) for k, v in st["history"].items()}
        res.best_epoch, res.best_val_loss = int(st["best_epoch"]), float(st["best_val_loss"])
        best = (st["best_encoder"], st["best_decoder"]) if st["best_encoder"] is not None else None
    bar = tqdm(range(start, p.epochs), desc="nf2vec on NeRFs", unit="epoch", disable=not progress,
               initial=start, total=p.epochs)
    for epoch in bar:
        encoder.train()
        decoder.train()
        perm = rng.permutation(n)
        losses = []
        for k in range(steps_per_epoch):
            idx = torch.as_tensor(perm[k * p.batch_size:(k + 1) * p.batch_size])
            sb = SceneBatch(train[1].premult[idx].to(dev), train[1].alpha[idx].to(dev), train[1].c2w[idx].to(dev),
                            train[1].focal[idx].to(dev))
            loss = render_loss(encoder, decoder, rows_tr[idx.to(dev)], sb, _gens(p.seed, step, len(idx)), p,
                               theta=theta_tr[idx.to(dev)])
            if not torch.isfinite(loss):
                raise FloatingPointError(f"nf2vec on NeRFs: non-finite render loss at epoch {epoch}, step {step} "
                                         "(lower nerf.encoder.lr or nerf.encoder.grad_clip)")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if p.grad_clip > 0:
                nn.utils.clip_grad_norm_(params, p.grad_clip)
            opt.step()
            sched.step()
            losses.append(loss.item())
            step += 1
        val_loss = evaluate_render_loss(encoder, decoder, rows_va, val[1], p, dev)
        res.history["train_loss"].append(float(np.mean(losses)))
        res.history["val_loss"].append(val_loss)
        if val_loss < res.best_val_loss:
            res.best_val_loss, res.best_epoch = val_loss, epoch
            best = (copy.deepcopy(encoder.state_dict()), copy.deepcopy(decoder.state_dict()))
        bar.set_postfix(train=f"{np.mean(losses):.4f}", val=f"{val_loss:.4f}")
        if state_path is not None:
            save_tree(state_path, {
                "params": asdict(p), "arch": arch.to_json(), "epoch": epoch + 1, "step": step,
                "encoder": encoder.state_dict(), "decoder": decoder.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                "history": res.history, "best_epoch": res.best_epoch, "best_val_loss": res.best_val_loss,
                "best_encoder": best[0] if best is not None else None,
                "best_decoder": best[1] if best is not None else None})
    if best is not None:
        encoder.load_state_dict(best[0])
        decoder.load_state_dict(best[1])
    encoder.eval()
    decoder.eval()
    res.seconds = time.perf_counter() - t0
    return res


@torch.no_grad()
def evaluate_render_loss(encoder: RowEncoder, decoder: NerfDecoder, rows: torch.Tensor, scenes: SceneBatch,
                         p: NerfEncoderParams, device: torch.device, batch: int = 32) -> float:
    """Render loss on fixed rays (seeded) of every item, eval mode."""
    encoder.eval()
    decoder.eval()
    out = []
    for a in range(0, rows.shape[0], batch):
        idx = torch.arange(a, min(rows.shape[0], a + batch))
        sb = SceneBatch(scenes.premult[idx].to(device), scenes.alpha[idx].to(device), scenes.c2w[idx].to(device),
                        scenes.focal[idx].to(device))
        out.append(render_loss(encoder, decoder, rows[idx.to(device)], sb, _gens(p.seed + 1, a, len(idx)), p)
                   * len(idx))
    return float(torch.stack(out).sum() / rows.shape[0])


@torch.no_grad()
def embed_nerfs(encoder: RowEncoder, arch: NerfArch, theta: torch.Tensor, batch: int = 256) -> torch.Tensor:
    encoder.eval()
    dev = next(encoder.parameters()).device
    return torch.cat([encoder(nerf_rows(arch, theta[a:a + batch]).to(dev)).cpu()
                      for a in range(0, theta.shape[0], batch)]) if len(theta) else torch.zeros(0, encoder.embed_dim)


@torch.no_grad()
def render_embeddings(decoder: NerfDecoder, emb: torch.Tensor, c2w: torch.Tensor, focal: float, height: int,
                      width: int, render: RenderConfig) -> torch.Tensor:
    """Views ``[B, V, H, W, 3]`` of the decoder's radiance fields for embeddings ``emb [B, D]``."""
    return render_images(decoder.arch, torch.zeros(emb.shape[0], decoder.arch.num_params), c2w, focal, height, width,
                         render, background=torch.ones(3), field=lambda x: decoder.radiance(emb, x)).color


def save_checkpoint(path: str | Path, res: NerfTrainResult, arch: NerfArch, p: NerfEncoderParams,
                    dec: ImplicitDecoderConfig) -> Path:
    """The trained NeRF encoder and decoder with what rebuilds them (safetensors + JSON, no pickle)."""
    return save_tree(path, {"encoder": res.encoder.state_dict(), "decoder": res.decoder.state_dict(),
                            "arch": arch.to_json(), "params": asdict(p), "decoder_config": dec.to_dict(),
                            "best_epoch": res.best_epoch, "best_val_loss": res.best_val_loss})


def load_checkpoint(path: str | Path) -> tuple[NerfArch, RowEncoder, NerfDecoder, NerfEncoderParams]:
    """``(arch, encoder, decoder, params)`` from a file written by :func:`save_checkpoint` (eval mode)."""
    ckpt = load_tree(path)
    missing = {"encoder", "decoder", "arch", "params", "decoder_config"} - set(ckpt)
    if missing:
        raise BadInputError(path, f"not a NeRF nf2vec checkpoint (missing {sorted(missing)})")
    arch = NerfArch.from_json(ckpt["arch"])
    p = NerfEncoderParams(**{**ckpt["params"], "hidden": tuple(ckpt["params"]["hidden"])})
    enc, dec = build_nerf_models(arch, p, ImplicitDecoderConfig.from_dict(ckpt["decoder_config"]))
    enc.load_state_dict(ckpt["encoder"])
    dec.load_state_dict(ckpt["decoder"])
    return arch, enc.eval(), dec.eval(), p


__all__ = ["nerf_rows", "nerf_row_width", "NerfDecoder", "NerfEncoderParams", "build_nerf_models", "sample_rays", "distill_loss", "render_loss",
           "train_nerf_nf2vec", "evaluate_render_loss", "embed_nerfs", "render_embeddings", "NerfTrainResult",
           "save_checkpoint", "load_checkpoint"]
