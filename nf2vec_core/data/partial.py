"""Partial shapes from prepared data, for shape completion (paper 000 §V, Figs. 16-17).

A partial shape keeps a *region* of its complete shape, drawn per item from a seeded generator:

* ``crop``: a random half-space ``{x : d . x <= o}``. The direction ``d`` is uniform on the sphere;
  the offset ``o`` cuts away a share of the surface samples drawn uniformly in
  ``[remove_low, remove_high]`` (e.g. an airplane without a wing);
* ``view``: what a camera at distance ``view_distance`` from the origin in direction ``d`` (uniform
  on the sphere) sees of the surface samples, by the hidden-point removal of Katz et al. (*Direct
  Visibility of Point Sets*, 2007: the samples are flipped about a sphere of radius ``hpr_radius``
  times their largest distance to the camera; those on the convex hull of the flipped samples and
  the camera are visible). As in the partial scans of Pan et al.'s MVP benchmark (the completion
  data of the paper), the far side of the shape is missing.

The partial *surface* is the surface samples inside the region, resampled to the dataset's count
(without replacement while there are enough). The partial *field* is the dataset's field kind, so
that its NFs are fitted with the dataset's own shared init and fitting settings
(:func:`nf2vec_core.fitting.run.fit_dataset` on the directory :func:`write_partial_dataset` writes):

* ``udf``: the UDF of the partial surface, on a query pool around it (:func:`~nf2vec_core.fields.
  sampling.query_pool`, clipped at the dataset's ``clip``), as the prepared point-cloud data;
* ``occupancy``: the complete solid intersected with the region; for ``view`` the region is the
  set of points within ``thickness`` of the visible surface (the solid seen from the camera, a
  slab of that depth behind the visible surface);
* ``sdf``: the same intersection, ``max(sdf, sdf_region)`` (the plane's signed distance, or the
  distance to the visible surface minus ``thickness``) at the dataset's query points.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch
from scipy.spatial import cKDTree
from tqdm import tqdm

from ..errors import BadInputError, ConfigError
from ..fields.sampling import query_pool
from ..fields.voxels import voxel_centers
from ..store.io import write_csv, write_json, write_tensors
from ..store.paths import Layout
from ..store.prepared import PreparedData

__all__ = ["PartialParams", "Cuts", "random_directions", "draw_cuts", "crop_offsets", "half_space_mask",
           "visible_mask", "resample_kept", "region_mask", "partial_fields", "write_partial_dataset", "partial_dirs"]

@dataclass(frozen=True)
class PartialParams:
    """How partial shapes are made (a ``completion.partial`` section)."""

    mode: Literal["crop", "view"] = "crop"
    remove_low: float = 0.2          # crop: share of the surface cut away, uniform in [low, high]
    remove_high: float = 0.5
    view_distance: float = 3.0       # view: the camera's distance from the origin (the shape lies in [-1, 1]^3)
    hpr_radius: float = 10.0         # view: the flipping sphere's radius over the largest camera distance
    thickness: float = 0.1           # occupancy/SDF view partials: the solid this deep behind the visible surface
    batch: int = 32                  # items computed together
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in ("crop", "view"):
            raise ConfigError(f"completion.partial.mode: 'crop' or 'view', got {self.mode!r}")
        if not 0.0 <= float(self.remove_low) <= float(self.remove_high) < 1.0:
            raise ConfigError(f"completion.partial: need 0 <= remove_low <= remove_high < 1, got "
                              f"{self.remove_low}, {self.remove_high}")
        if not float(self.view_distance) > math.sqrt(3.0) or not float(self.hpr_radius) > 1 or int(self.batch) < 1:
            raise ConfigError(f"completion.partial: need view_distance > sqrt(3) (outside the cube), hpr_radius > 1, "
                              f"batch >= 1; got {self.view_distance}, {self.hpr_radius}, {self.batch}")
        if not float(self.thickness) > 0:
            raise ConfigError(f"completion.partial.thickness: must be > 0, got {self.thickness}")


@dataclass(frozen=True)
class Cuts:
    """Per item: the direction ``d [N, 3]`` (unit) and, for ``crop``, the offset ``o [N]`` of the
    kept half-space ``d . x <= o`` (for ``view``, ``d`` points towards the camera; ``o`` unused)."""

    directions: torch.Tensor
    offsets: torch.Tensor


def random_directions(n: int, gen: torch.Generator) -> torch.Tensor:
    """``n`` unit vectors ``[n, 3]`` uniform on the sphere."""
    v = torch.randn(n, 3, generator=gen, dtype=torch.float64)
    return torch.nn.functional.normalize(v, dim=1).float()


def crop_offsets(surface: torch.Tensor, directions: torch.Tensor, remove: torch.Tensor) -> torch.Tensor:
    """Offsets ``[N]`` of half-spaces ``d . x <= o`` that keep all but the share ``remove [N]`` of
    the samples ``surface [N, S, 3]``: halfway between the last kept and the first cut projection."""
    proj = torch.einsum("nsk,nk->ns", surface.float(), directions.float()).sort(1).values
    s = proj.shape[1]
    keep = (torch.round((1 - remove.float()) * s).long()).clamp(1, s)
    lo = proj.gather(1, (keep - 1)[:, None])[:, 0]
    hi = proj.gather(1, keep.clamp(max=s - 1)[:, None])[:, 0]
    return torch.where(keep < s, (lo + hi) / 2, lo + 1e-6)


def draw_cuts(surface: torch.Tensor, p: PartialParams, gen: torch.Generator) -> Cuts:
    """The cuts of items ``surface [N, S, 3]`` (directions, then for ``crop`` the removed shares)."""
    d = random_directions(surface.shape[0], gen)
    if p.mode == "view":
        return Cuts(d, torch.zeros(surface.shape[0]))
    remove = p.remove_low + (p.remove_high - p.remove_low) * torch.rand(surface.shape[0], generator=gen)
    return Cuts(d, crop_offsets(surface, d, remove))


def half_space_mask(points: torch.Tensor, cuts: Cuts) -> torch.Tensor:
    """``[N, M]``: which of ``points [N, M, 3]`` lie in their item's half-space ``d . x <= o``."""
    return torch.einsum("nmk,nk->nm", points.float(), cuts.directions.float()) <= cuts.offsets.float()[:, None]


def visible_mask(points: torch.Tensor, directions: torch.Tensor, distance: float = 3.0,
                 hpr_radius: float = 10.0) -> torch.Tensor:
    """``[N, S]``: which surface samples ``points [N, S, 3]`` a camera at ``distance * directions``
    sees (hidden-point removal, module docs; one convex hull per item)."""
    from scipy.spatial import ConvexHull

    out = torch.zeros(points.shape[:2], dtype=torch.bool)
    for i, (pts, d) in enumerate(zip(points.double().numpy(), directions.double().numpy())):
        q = pts - distance * d
        r = np.linalg.norm(q, axis=1, keepdims=True).clip(1e-12)
        flipped = q + 2 * (hpr_radius * r.max() - r) * q / r
        hull = ConvexHull(np.vstack([flipped, np.zeros((1, 3))]))
        v = hull.vertices[hull.vertices < len(pts)]
        out[i, torch.from_numpy(v)] = True
    return out


def resample_kept(points: torch.Tensor, keep: torch.Tensor, n: int, gen: torch.Generator) -> torch.Tensor:
    """``[N, n, 3]``: per item, ``n`` of its kept samples (``keep [N, S]``) in a random order, each
    once while there are enough, then cycling through them again."""
    counts = keep.sum(1)
    if bool((counts == 0).any()):
        raise BadInputError(None, f"partial shapes: item {int((counts == 0).nonzero()[0])} keeps no surface sample")
    order = (keep.float() + torch.rand(keep.shape, generator=gen)).argsort(1, descending=True)   # kept first
    pick = order.gather(1, torch.arange(n)[None, :] % counts[:, None])
    return points.gather(1, pick[..., None].expand(-1, -1, points.shape[-1]))


def region_mask(points: torch.Tensor, cuts: Cuts, partial: torch.Tensor, p: PartialParams) -> torch.Tensor:
    """``[N, M]``: which ``points [N, M, 3]`` lie in their item's kept region: the half-space
    (``crop``), or within ``thickness`` of the visible surface ``partial [N, S, 3]`` (``view``)."""
    if p.mode == "crop":
        return half_space_mask(points, cuts)
    return _distance_to(partial, points, 2 * p.thickness) <= p.thickness


def _distance_to(surface: torch.Tensor, points: torch.Tensor, bound: float) -> torch.Tensor:
    """``[N, M]`` distance of ``points`` to each item's ``surface``, at most ``bound`` (a KD-tree
    search that stops at the bound: far points cost no more than near ones)."""
    out = []
    for s, q in zip(surface.double().numpy(), points.double().numpy()):
        d, _ = cKDTree(s).query(q, k=1, distance_upper_bound=bound)
        out.append(torch.from_numpy(np.minimum(d, bound)).float())
    return torch.stack(out)


def partial_fields(fields: dict[str, torch.Tensor], kind: str, clip: float, p: PartialParams,
                   gen: torch.Generator, n_queries: int | None = None) -> tuple[dict[str, torch.Tensor], Cuts]:
    """Prepared ground truth of the partial shapes of a batch of items (module docs): ``fields``
    holds the items' prepared tensors (``surface``, ``surface_labels``, ``offgrid_coords``,
    ``offgrid_values`` and ``voxels`` or ``coords``/``values``); returns the same tensors for the
    partial shapes, plus ``cut_directions``/``cut_offsets``, and the cuts."""
    surface = fields["surface"].float()
    n, s, _ = surface.shape
    cuts = draw_cuts(surface, p, gen)
    keep = (half_space_mask(surface, cuts) if p.mode == "crop"
            else visible_mask(surface, cuts.directions, p.view_distance, p.hpr_radius))
    order_gen = torch.Generator().manual_seed(int(torch.randint(1 << 62, (1,), generator=gen)))
    labels = fields["surface_labels"].float()[..., None]
    both = resample_kept(torch.cat([surface, labels], -1), keep, s, order_gen)
    part, part_labels = both[..., :3].contiguous(), both[..., 3].round().long()
    out = {"surface": part, "surface_labels": part_labels, "cut_directions": cuts.directions,
           "cut_offsets": cuts.offsets}
    if kind == "udf":
        rng = np.random.default_rng(int(torch.randint(1 << 62, (1,), generator=gen)))
        m = int(n_queries or fields["coords"].shape[1])
        k = int(fields["offgrid_coords"].shape[1])
        q = torch.stack([torch.from_numpy(query_pool(c.numpy(), m, rng=rng)) for c in part])
        off = torch.stack([torch.from_numpy(query_pool(c.numpy(), k, rng=rng)) for c in part])
        out.update(coords=q, values=_distance_to(part, q, clip), offgrid_coords=off,
                   offgrid_values=_distance_to(part, off, clip))
        return out, cuts
    off = fields["offgrid_coords"].float()
    if kind == "occupancy":
        vox = fields["voxels"].bool()
        r = vox.shape[-1]
        centres = torch.from_numpy(voxel_centers(r)).float()
        inside = torch.zeros_like(vox.reshape(n, -1))
        for b in range(n):     # the region test only where the complete solid is
            occ = vox[b].reshape(-1).nonzero()[:, 0]
            one = Cuts(cuts.directions[b:b + 1], cuts.offsets[b:b + 1])
            inside[b, occ] = region_mask(centres[occ][None], one, part[b:b + 1], p)[0]
        out["voxels"] = inside.reshape(vox.shape).to(fields["voxels"].dtype)
        off_inside = fields["offgrid_values"].bool() & region_mask(off, cuts, part, p)
        out.update(offgrid_coords=off, offgrid_values=off_inside.to(fields["offgrid_values"].dtype))
        return out, cuts
    if kind == "sdf":
        coords = fields["coords"].float()
        cut = lambda x, v: torch.maximum(v.float(), _region_sdf(x, cuts, part, p, clip))  # noqa: E731
        out.update(coords=coords, values=cut(coords, fields["values"]), offgrid_coords=off,
                   offgrid_values=cut(off, fields["offgrid_values"]))
        return out, cuts
    raise ConfigError(f"partial shapes: field kind {kind!r} has no partial shapes (occupancy, sdf, udf)")


def _region_sdf(points: torch.Tensor, cuts: Cuts, partial: torch.Tensor, p: PartialParams, clip: float
                ) -> torch.Tensor:
    """A signed distance ``[N, M]`` of the kept region (negative inside; for ``view`` a bound, and
    at most ``clip`` outside, where the fitted SDF is clipped anyway)."""
    if p.mode == "crop":
        return torch.einsum("nmk,nk->nm", points.float(), cuts.directions.float()) - cuts.offsets.float()[:, None]
    return _distance_to(partial, points, p.thickness + clip) - p.thickness


def write_partial_dataset(prepared_dir: Path, out_dir: Path, p: PartialParams, progress: bool = True) -> dict:
    """A prepared-data directory of the partial shapes of every item of ``prepared_dir`` (same
    index, splits, kind and tensors; meta records ``partial``), ready to be fitted like the
    dataset's own items. Deterministic from ``p.seed``; returns the meta."""
    data = PreparedData(prepared_dir)
    kind, clip = data.kind, float(data.meta.get("clip", 0.1))
    if kind not in ("occupancy", "sdf", "udf"):
        raise ConfigError(f"{prepared_dir}: completion needs a 3-D dataset (occupancy, sdf, udf), not {kind!r}")
    gen = torch.Generator().manual_seed(int(p.seed))
    n = len(data.index)
    names = [k for k in data.keys if k in ("surface", "surface_labels", "offgrid_coords", "offgrid_values", "voxels",
                                             "coords", "values")]
    parts: list[dict[str, torch.Tensor]] = []
    for a in tqdm(range(0, n, p.batch), desc=f"partial shapes ({p.mode})", unit="batch", disable=not progress):
        b = min(n, a + p.batch)
        try:
            out, _ = partial_fields({k: data.tensor(k, a, b) for k in names}, kind, clip, p, gen)
        except BadInputError as exc:
            raise BadInputError(prepared_dir, f"items {a}..{b - 1}: {exc.reason}") from exc
        parts.append(out)
    tensors = {k: torch.cat([t[k] for t in parts]).contiguous() for k in parts[0]}
    meta = {**data.meta, "partial": asdict(p), "complete": str(prepared_dir)}
    out_dir = Path(out_dir)
    write_tensors(out_dir / "fields.safetensors", tensors)
    write_csv(out_dir / "rejected.csv", pd.read_csv(Path(prepared_dir) / "rejected.csv", keep_default_na=False))
    write_json(out_dir / "meta.json", meta)
    write_csv(out_dir / "index.csv", data.index)
    return meta


def partial_dirs(paths: Layout, dataset: str) -> tuple[Path, Path]:
    """Where the completion stages keep a dataset's partial shapes (prepared data,
    ``data/partial/<d>``) and their NFs (``data/neural_partial/<d>``) under ``paths.root``."""
    return paths.root / "data" / "partial" / dataset, paths.root / "data" / "neural_partial" / dataset
