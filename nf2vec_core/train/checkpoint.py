"""nf2vec checkpoints: atomic writes, and rebuilding encoder + decoder from a checkpoint alone.

A checkpoint is a tree of tensors and plain values written by
:func:`~nf2vec_core.store.treefile.save_tree` (safetensors + JSON metadata, no pickle):

* ``meta``: ``spec`` (``ArchSpec.to_json()``), ``field_kind``, ``in_features``, ``in_dim``,
  ``out_dim``, ``encoder``/``decoder``/``loss``/``train`` config dicts;
* ``encoder``, ``decoder``: state dicts (of the unwrapped modules, plain BatchNorm names);
* ``optimizer``, ``scheduler``, ``epoch`` (number of completed epochs), ``history`` (list of row
  dicts), ``best_epoch``, ``best_val_loss``, ``rng`` (torch CPU/CUDA generator states). No timings: the
same weights always give the same bytes.

Writes go to a temporary file in the same directory and are moved in place with ``os.replace``, so
a kill during the write leaves the previous checkpoint intact.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..decoders.implicit import ImplicitDecoder, ImplicitDecoderConfig
from ..encoders.rows import RowEncoder, RowEncoderConfig
from ..errors import BadInputError
from ..nf.layout import ArchSpec
from ..store.treefile import load_tree, save_tree


def atomic_save(obj: dict[str, Any], path: str | Path) -> None:
    """Write a checkpoint tree to ``path`` (safetensors, atomic: never a partial file)."""
    save_tree(path, obj)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint dict; :class:`BadInputError` when missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(path, "checkpoint not found")
    ckpt = load_tree(path, map_location)
    if not isinstance(ckpt, dict) or "meta" not in ckpt or "encoder" not in ckpt:
        raise BadInputError(path, "not an nf2vec checkpoint (no 'meta'/'encoder' entries)")
    return ckpt


def check_arch(meta: dict[str, Any], spec: ArchSpec, path: str | Path) -> dict[str, Any]:
    """``meta`` of the checkpoint at ``path`` when its encoder was trained on NFs of layout ``spec``;
    :class:`BadInputError` naming both layouts otherwise."""
    trained = meta["arch"] if isinstance(meta.get("arch"), ArchSpec) else ArchSpec.from_json(meta["spec"])
    if trained != spec:
        raise BadInputError(path, f"encoder trained on another NF architecture ({trained.family} "
                                  f"{trained.depth}x{trained.hidden}), the NFs are {spec.family} {spec.depth}x{spec.hidden}")
    return meta


def build_models(meta: dict[str, Any]) -> tuple[RowEncoder, ImplicitDecoder]:
    """Fresh (untrained) encoder and decoder of the architecture described by ``meta``."""
    enc_cfg = RowEncoderConfig.from_dict(meta["encoder"])
    dec_cfg = ImplicitDecoderConfig.from_dict(meta["decoder"])
    encoder = RowEncoder(int(meta["in_features"]), enc_cfg, meta.get("num_rows"))
    decoder = ImplicitDecoder(encoder.embed_dim, int(meta["in_dim"]), int(meta["out_dim"]), dec_cfg)
    return encoder, decoder


def load_model(checkpoint_path: str | Path, map_location: str | torch.device = "cpu"
               ) -> tuple[RowEncoder, ImplicitDecoder, dict[str, Any]]:
    """Trained ``(encoder, decoder, meta)`` from a checkpoint, in eval mode.

    ``meta`` also carries ``spec`` rebuilt as an :class:`ArchSpec` (key ``arch``), plus
    ``epoch``/``best_epoch``/``best_val_loss`` of the checkpoint.
    """
    ckpt = load_checkpoint(checkpoint_path, map_location)
    meta = dict(ckpt["meta"])
    encoder, decoder = build_models(meta)
    encoder.load_state_dict(ckpt["encoder"])
    decoder.load_state_dict(ckpt["decoder"])
    encoder.to(map_location).eval()
    decoder.to(map_location).eval()
    meta["arch"] = ArchSpec.from_json(meta["spec"])
    for key in ("epoch", "best_epoch", "best_val_loss"):
        meta[key] = ckpt.get(key)
    return encoder, decoder, meta
