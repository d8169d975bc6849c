"""Checkpoints and model files without pickle: a nested tree of tensors and plain values in one
safetensors file.

The tensors of the tree go into the safetensors body under generated keys; everything else (the
tree's structure, numbers, strings, config dicts, optimizer hyper-parameters) goes into the file's
header metadata as JSON. Loading parses JSON and raw tensor bytes only, so a file pulled from a DVC
remote cannot execute code, unlike ``torch.load`` of a pickle. Writes are atomic.

Encoding of the JSON tree: a tensor is ``{"__tensor__": key}``; a dict whose keys are all strings
(none starting with ``__``) is a JSON object; any other dict (e.g. an optimizer's integer-keyed
``state``) is ``{"__map__": [[key, value], ...]}``; tuples and lists are JSON arrays.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open

from ..errors import BadInputError
from .io import write_tensors

FORMAT = "nf2vec-tree/1"   # the one header metadata key (safetensors writes several keys in no set order)


def encode_tree(tree: Any) -> tuple[str, dict[str, torch.Tensor]]:
    """``(json_text, tensors)`` for a nested tree of dicts/lists/tensors/plain values."""
    tensors: dict[str, torch.Tensor] = {}

    def enc(node: Any) -> Any:
        if isinstance(node, torch.Tensor):
            key = f"t{len(tensors):06d}"
            tensors[key] = node.detach().cpu().contiguous().clone()
            return {"__tensor__": key}
        if isinstance(node, dict):
            if all(isinstance(k, str) and not k.startswith("__") for k in node):
                return {k: enc(v) for k, v in node.items()}
            return {"__map__": [[k, enc(v)] for k, v in node.items()]}
        if isinstance(node, (list, tuple)):
            return [enc(v) for v in node]
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if hasattr(node, "item") and callable(node.item):  # numpy scalars
            return node.item()
        raise TypeError(f"cannot store a {type(node).__name__} in a tree file")

    return json.dumps(enc(tree), sort_keys=False), tensors


def decode_tree(text: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`encode_tree`."""

    def dec(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"__tensor__"}:
                return tensors[node["__tensor__"]]
            if set(node) == {"__map__"}:
                return {_key(k): dec(v) for k, v in node["__map__"]}
            return {k: dec(v) for k, v in node.items()}
        if isinstance(node, list):
            return [dec(v) for v in node]
        return node

    return dec(json.loads(text))


def _key(k: Any) -> Any:
    return tuple(k) if isinstance(k, list) else k


def save_tree(path: str | Path, tree: dict[str, Any]) -> Path:
    """Write ``tree`` to ``path`` (safetensors + JSON metadata), atomically."""
    text, tensors = encode_tree(tree)
    return write_tensors(path, tensors, metadata={FORMAT: text})


def load_tree(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a file written by :func:`save_tree`; :class:`BadInputError` naming the file otherwise
    (missing, a pickle, truncated, or a safetensors file of another kind)."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(path, "not found")
    try:
        with safe_open(str(path), framework="pt", device=str(map_location)) as f:
            meta = f.metadata() or {}
            if FORMAT not in meta:
                raise BadInputError(path, "a safetensors file, but not an nf2vec model file (no nf2vec-tree metadata)")
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except BadInputError:
        raise
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise BadInputError(path, "not an nf2vec model file: expected safetensors (pickled .pt checkpoints "
                                  f"are refused; re-run the stage that writes it) ({type(exc).__name__})") from exc
    try:
        return decode_tree(meta[FORMAT], tensors)
    except (ValueError, KeyError, TypeError) as exc:
        raise BadInputError(path, f"corrupt tree metadata ({type(exc).__name__}: {exc})") from exc


__all__ = ["FORMAT", "encode_tree", "decode_tree", "save_tree", "load_tree"]
