"""Training data for nf2vec: NFs of a neural dataset paired with their prepared ground truth.

Query points per item (values in natural units, as :class:`FieldDataset` expects):

* ``occupancy``: the prepared off-grid points (uniform; left out with ``offgrid=False``) plus
  ``n_grid`` voxel centres per item, ``surface_fraction`` of them (default half) on the boundary
  (:func:`~nf2vec_core.fitting.targets.occupancy_pool`), 0/1 values;
* ``sdf`` / ``udf``: the prepared query pool;
* ``pixels``: all pixel centres (shared).
"""
from __future__ import annotations

import torch

from ..errors import BadInputError
from ..fields.pixels import image_coords
from ..fitting.targets import occupancy_pool
from ..store.neural_dataset import NeuralDataset, view_params
from ..store.prepared import PreparedData
from .trainer import FieldDataset


def check_aligned(prepared: PreparedData, neural: NeuralDataset) -> None:
    """The neural dataset must hold one NF per prepared item, in the same order."""
    a, b = prepared.index["id"].tolist(), neural.index["id"].tolist()
    if a != b:
        raise BadInputError(neural.root, "index does not match the prepared data (refit after preprocessing)")


def field_dataset(prepared: PreparedData, neural: NeuralDataset, rows: list[int], *,
                  n_grid: int = 4096, seed: int = 0, views: list[NeuralDataset] | None = None,
                  surface_fraction: float = 0.5, offgrid: bool = True) -> FieldDataset:
    """A :class:`FieldDataset` for the given index rows (the prepared tensors are read once), with
    the other fits of those items from ``views`` (:func:`~nf2vec_core.store.neural_dataset.load_views`)."""
    check_aligned(prepared, neural)
    params = neural.params(rows)
    other = view_params(views or [], neural.index["id"].iloc[list(rows)].tolist())
    labels = torch.as_tensor(neural.index["class_id"].to_numpy()[rows])
    sel = torch.as_tensor(rows, dtype=torch.long)
    kind = prepared.kind
    if kind == "pixels":
        img = prepared.tensor("images")[sel]
        n, h, w, c = img.shape
        return FieldDataset(params, image_coords(h, w), img.reshape(n, h * w, c).float(), labels, other)
    if kind == "occupancy":
        grid = occupancy_pool(prepared.tensor("voxels")[sel], surface_fraction, n_grid,
                              torch.Generator().manual_seed(seed))
        if not offgrid:
            return FieldDataset(params, grid.coords, grid.values, labels, other)
        coords = torch.cat([prepared.tensor("offgrid_coords")[sel], grid.coords], dim=1)
        values = torch.cat([prepared.tensor("offgrid_values")[sel].float().unsqueeze(-1), grid.values], dim=1)
        return FieldDataset(params, coords, values, labels, other)
    coords, values = prepared.tensor("coords")[sel], prepared.tensor("values")[sel].float()
    return FieldDataset(params, coords, values.unsqueeze(-1), labels, other)
