"""Images as 2-D fields (torch, any device).

Conventions: pixel ``(i, j)`` (row ``i``, column ``j``) of an ``H x W`` image covers
``x in [-1 + 2j/W, -1 + 2(j+1)/W]``, ``y in [-1 + 2i/H, -1 + 2(i+1)/H]`` and its value sits at the
pixel centre ``(x, y) = (-1 + (2j+1)/W, -1 + (2i+1)/H)``. Coordinates are ``(x, y)`` = (column, row)
(``y`` grows downwards, as the rows do); flattened pixels are row-major (``i`` outer, ``j`` inner), the
same as ``img.reshape(H*W, C)``. Values are intensities in ``[0, 1]``, ``C`` channels last.

Off-grid ground truth (paper 004 §3.2): the ``beta^1``-spline interpolation of the image, i.e.
bilinear interpolation between the four surrounding pixel centres (clamped at the border) —
``torch.nn.functional.grid_sample(mode="bilinear", align_corners=False, padding_mode="border")``,
whose ``align_corners=False`` grid is exactly the pixel-centre convention above.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import BadInputError


def image_coords(h: int, w: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Pixel centres ``[H*W, 2]`` (float32) in ``[-1,1]^2`` as (x, y), row-major."""
    ys = (torch.arange(h, dtype=torch.float32, device=device) + 0.5) / h * 2 - 1
    xs = (torch.arange(w, dtype=torch.float32, device=device) + 0.5) / w * 2 - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy], dim=-1).reshape(-1, 2)


def _as_image(img: np.ndarray | torch.Tensor) -> torch.Tensor:
    """``[H,W]`` or ``[H,W,C]`` -> float32 ``[H,W,C]`` tensor (uint8 scaled to ``[0,1]``)."""
    t = torch.as_tensor(np.asarray(img) if not isinstance(img, torch.Tensor) else img)
    if t.ndim == 2:
        t = t[..., None]
    if t.ndim != 3 or t.shape[0] == 0 or t.shape[1] == 0 or t.shape[2] == 0:
        raise BadInputError(None, f"expected an image [H,W] or [H,W,C], got shape {tuple(t.shape)}")
    t = t.float() / 255.0 if t.dtype == torch.uint8 else t.float()
    if not torch.isfinite(t).all():
        raise BadInputError(None, "image contains NaN/inf")
    return t


def image_to_field(img: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(coords [H*W,2], values [H*W,C])`` of an image ``[H,W]`` or ``[H,W,C]`` (uint8 -> ``/255``)."""
    t = _as_image(img)
    h, w, c = t.shape
    return image_coords(h, w, device=t.device), t.reshape(h * w, c)


def off_grid_coords(h: int, w: int, n: int | str = "midpoints",
                    rng: np.random.Generator | int | None = None) -> torch.Tensor:
    """Points between pixel centres ``[K, 2]`` (float32, (x, y)).

    ``"midpoints"``: the centre of every 2x2 block of pixel centres, ``K = (H-1)(W-1)``, row-major
    (the bilinear ground truth there is the mean of the 4 pixels). An integer ``n``: ``K = n`` points
    uniform in the hull of the pixel centres (almost surely off the grid), deterministic from ``rng``.
    """
    if isinstance(n, str):
        if n != "midpoints":
            raise ValueError(f"off_grid_coords: n must be an int or 'midpoints', got {n!r}")
        if h < 2 or w < 2:
            raise BadInputError(None, f"no midpoints in a {h}x{w} image")
        ys = (torch.arange(h - 1, dtype=torch.float32) + 1.0) / h * 2 - 1
        xs = (torch.arange(w - 1, dtype=torch.float32) + 1.0) / w * 2 - 1
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        return torch.stack([gx, gy], dim=-1).reshape(-1, 2)
    rng = np.random.default_rng(0 if rng is None else rng)
    lo = np.array([1.0 / w - 1, 1.0 / h - 1])
    hi = -lo
    return torch.from_numpy(rng.uniform(lo, hi, size=(int(n), 2)).astype(np.float32))


def bilinear_sample(img: np.ndarray | torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """``beta^1``-spline (bilinear) interpolation of ``img [H,W]`` / ``[H,W,C]`` (or a batch
    ``[B,H,W,C]``) at ``coords [K,2]`` (x, y) in ``[-1,1]^2``; returns ``[K,C]`` (``[B,K,C]``).
    Exact pixel values at pixel centres; clamped to the border pixels outside their hull."""
    t = torch.as_tensor(img) if isinstance(img, torch.Tensor) else None
    batched = t is not None and t.ndim == 4
    if batched:
        imgs = t.float() / 255.0 if t.dtype == torch.uint8 else t.float()   # [B,H,W,C]
    else:
        imgs = _as_image(img)[None]
    b = imgs.shape[0]
    xy = torch.as_tensor(coords, dtype=imgs.dtype, device=imgs.device).reshape(1, 1, -1, 2).expand(b, 1, -1, 2)
    out = F.grid_sample(imgs.permute(0, 3, 1, 2), xy, mode="bilinear", padding_mode="border",
                        align_corners=False)                         # [B,C,1,K]
    out = out[:, :, 0].permute(0, 2, 1)                              # [B,K,C]
    return out if batched else out[0]
