"""Range and meaning rules of the params, checked at load by :func:`nf2vec_core.config.from_dict`.

Every numeric param is checked by a rule chosen, in this order, by

1. ``dataclasses.field(metadata={"rule": ...})`` on the dataclass field;
2. :data:`CLASS_RULES`, keyed by the dataclass's ``module.QualName`` (for dataclasses whose module
   is better left untouched, and for names whose usual meaning does not hold in one class);
3. :data:`NAME_RULES`, the convention by field name (``steps``, ``lr``, ``*_size``, ...).

A tuple/list of numbers is checked item by item. Rules that tie several fields together live in
:data:`CROSS_RULES` and run on the field values (defaults filled in) before the dataclass is built.
A failed rule raises a one-line :class:`~nf2vec_core.errors.ConfigError` naming the dotted param,
the rule and the bad value, e.g. ``param 'fit.steps' must be a positive integer, got -5``.
Values of other types are left to the type checks of :mod:`nf2vec_core.config`; a dataclass's own
``__post_init__`` checks still run after these.
"""
from __future__ import annotations

from pathlib import Path

import math
import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable, Iterable

from .errors import ConfigError
from .runtime import check_device


@dataclass(frozen=True)
class Rule:
    """A predicate on one value and the phrase that states it (``must be ...``)."""

    ok: Callable[[Any], bool]
    text: str
    numeric: bool = True   # applies to numbers only: a field of another type that shares the name is skipped

    def check(self, value: Any, key: str) -> None:
        if isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                self.check(v, f"{key}[{i}]")
            return
        if value is None or (self.numeric and (isinstance(value, bool) or not isinstance(value, (int, float)))):
            return
        if not self.ok(value):
            raise ConfigError(f"param '{key}' {self.text}, got {value!r}")


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def at_least(lo: int) -> Rule:
    return Rule(lambda v: _int(v) and v >= lo, f"must be an integer >= {lo}")


def in_range(lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False) -> Rule:
    """A number in ``[lo, hi]``; ``lo_open``/``hi_open`` exclude the ends."""
    def ok(v: Any) -> bool:
        return _num(v) and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    return Rule(ok, f"must be in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}")


def greater_than(lo: float) -> Rule:
    return Rule(lambda v: _num(v) and v > lo, f"must be > {lo:g}")


def one_of(choices: Iterable[Any]) -> Rule:
    choices = tuple(choices)
    return Rule(lambda v: v in choices, f"must be one of {list(choices)}", numeric=False)


positive_int = Rule(lambda v: _int(v) and v > 0, "must be a positive integer")
nonnegative_int = Rule(lambda v: _int(v) and v >= 0, "must be an integer >= 0")
positive = Rule(lambda v: _num(v) and v > 0, "must be a number > 0")
nonnegative = Rule(lambda v: _num(v) and v >= 0, "must be a number >= 0")
finite = Rule(_num, "must be a finite number")
fraction = in_range(0.0, 1.0)
probability_below_one = in_range(0.0, 1.0, hi_open=True)   # dropout, Adam betas

DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def _device_ok(v: Any) -> bool:
    return isinstance(v, str) and bool(DEVICE_PATTERN.match(v))


class _DeviceRule(Rule):
    """auto, cpu, cuda, cuda:N or mps, and present on this machine (:func:`runtime.check_device`)."""

    def check(self, value: Any, key: str) -> None:
        super().check(value, key)
        check_device(value, key)


device = _DeviceRule(_device_ok, "must be one of auto, cpu, cuda, cuda:N, mps", numeric=False)

# ---------------------------------------------------------------------------- conventions
_POSITIVE_INTS = (
    "steps", "epochs", "batch_size", "chunk_size", "shard_size", "hidden", "depth", "layers", "embed_dim",
    "resolution", "mesh_resolution", "sign_resolution", "height", "width", "supersample", "n_views",
    "rays_per_step", "rays_per_item", "samples_per_ray", "n_queries", "n_offgrid", "n_surface",
    "queries_per_item", "grid_queries", "noise_dim", "n_critic", "draws", "repeats", "pointnet_points",
    "points", "ks", "rff_features", "n_examples", "n_figure", "n_points", "count", "channels", "generator",
    "critic", "views", "plane_res", "plane_channels", "occ_resolution", "occ_update_every",
    "node_mlp_layers", "node_mlp_hidden", "edge_mlp_layers", "edge_mlp_hidden", "readout_hidden",
)
_NONNEGATIVE_INTS = (   # 0 means "all", "off" or "one per CPU" where these are used
    "points_per_step", "workers", "n_per_class", "seed", "init_seed", "n_val_views", "pe_freqs",
    "num_freqs", "pca_dim", "n_calibration", "connectivity_pairs", "occ_warmup_steps",
)
_POSITIVE = ("lr", "w0", "w0_first", "rff_std", "mfn_scale", "clip", "fscore_threshold", "stitchup_alpha",
             "eps", "far", "scale_low", "scale_high")
_NONNEGATIVE = ("weight_decay", "grad_clip", "fg_weight", "bg_weight", "gp_weight", "distill", "row_noise",
                "contrastive", "jitter_sigma", "jitter_clip", "occ_step_size", "occ_threshold",
                "alpha_threshold", "early_stop_eps", "near", "plane_init")
_FRACTIONS = ("fg_fraction", "lr_final", "ambient", "color_jitter", "occ_ema_decay")
_BELOW_ONE = ("dropout", "beta1", "beta2")
_AT_LEAST_TWO = ("interpolation_steps", "curve_steps", "connectivity_steps")   # two ends of a path

NAME_RULES: dict[str, Rule] = {
    **{n: positive_int for n in _POSITIVE_INTS},
    **{n: nonnegative_int for n in _NONNEGATIVE_INTS},
    **{n: positive for n in _POSITIVE},
    **{n: nonnegative for n in _NONNEGATIVE},
    **{n: fraction for n in _FRACTIONS},
    **{n: probability_below_one for n in _BELOW_ONE},
    **{n: at_least(2) for n in _AT_LEAST_TWO},
    "device": device,
    "max_yaw_deg": in_range(0.0, 180.0),
    "fov_deg": in_range(1.0, 170.0, lo_open=True, hi_open=True),
    "density_shift": finite, "density_bias": finite, "level": finite, "aabb": finite, "light_dir": finite,
}

CLASS_RULES: dict[str, dict[str, Rule]] = {
    "nf2vec_core.weightspace.gnn.GNNConfig": {"steps": nonnegative_int},   # 0: no message passing
    "nf2vec_core.data.prepare.SplitParams": {"val": fraction, "test": fraction},
    "nf2vec_core.arena.repeatability.ConnectivityParams": {"signals": at_least(2), "replicas": at_least(2)},
    "nf2vec_core.nerf.dataset.NerfDataParams": {"n_per_class": positive_int},           # no "0 = all" here
    "nf2vec_core.tasks.classification.ClassifierConfig": {"batch_size": at_least(2)},   # BatchNorm
    "nf2vec_core.tasks.pointnet.PointNetConfig": {"batch_size": at_least(2)},           # BatchNorm
    "nf2vec_core.nerf.synthetic_views.ViewRenderConfig": {
        "radius": greater_than(math.sqrt(3.0)),   # cameras outside the object box [-1, 1]^3
    },
}


def _split_sum(obj: Any, where: str) -> None:
    if obj.val + obj.test >= 1.0:
        raise ConfigError(f"params '{where}.val' + '{where}.test' must sum to < 1 (the rest is the training "
                          f"split), got {obj.val + obj.test:g}")


DIRECTORY_SOURCES = ("modelnet", "shapenetcore", "manifold40", "pointcloud_ply", "shapenet_part", "mnist")


def _dataset_source(obj: Any, where: str) -> None:
    if obj.source in DIRECTORY_SOURCES and not obj.root:
        raise ConfigError(f"param '{where}.root' is required for source {obj.source!r} (the dataset directory)")
    if obj.root and obj.inputs and Path(obj.inputs) != Path(obj.root):
        raise ConfigError(f"param '{where}.inputs' must name the dataset's root ({obj.root!r}): DVC re-runs "
                          f"preprocessing when a file under it changes; got {obj.inputs!r}")
    if obj.source == "procedural" and obj.n_per_class < 1:
        raise ConfigError(f"param '{where}.n_per_class' must be a positive integer for source 'procedural', "
                          f"got {obj.n_per_class}")
    if obj.classes is not None and not obj.classes:
        raise ConfigError(f"param '{where}.classes' must list at least one class (or be null: all), got []")


def _scale_order(obj: Any, where: str) -> None:
    if obj.scale_low > obj.scale_high:
        raise ConfigError(f"param '{where}.scale_low' must be <= '{where}.scale_high', got "
                          f"{obj.scale_low} > {obj.scale_high}")


def _near_far(obj: Any, where: str) -> None:
    if obj.near >= obj.far:
        raise ConfigError(f"param '{where}.near' must be < '{where}.far', got {obj.near} >= {obj.far}")


def _light_dir(obj: Any, where: str) -> None:
    if not any(obj.light_dir):
        raise ConfigError(f"param '{where}.light_dir' must be a non-zero vector, got {list(obj.light_dir)}")


def _aabb(obj: Any, where: str) -> None:
    a = obj.aabb
    if any(a[i + 3] <= a[i] for i in range(3)):
        raise ConfigError(f"param '{where}.aabb' must be (x0, y0, z0, x1, y1, z1) with x1 > x0, y1 > y0, "
                          f"z1 > z0, got {list(a)}")


CROSS_RULES: dict[str, tuple[Callable[[Any, str], None], ...]] = {
    "nf2vec_core.data.prepare.SplitParams": (_split_sum,),
    "nf2vec_core.data.prepare.DatasetParams": (_dataset_source,),
    "nf2vec_core.tasks.pointnet.PointNetConfig": (_scale_order,),
    "nf2vec_core.nerf.render_config.RenderConfig": (_near_far,),
    "nf2vec_core.nerf.synthetic_views.ViewRenderConfig": (_light_dir,),
    "nf2vec_core.nerf.arch.NerfArch": (_aabb,),
}


def class_key(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def rule_for(cls: type | None, name: str, metadata: Any = None) -> Rule | None:
    """The rule of field ``name`` of dataclass ``cls`` (None: no rule)."""
    if metadata and "rule" in metadata:
        return metadata["rule"]
    if cls is not None:
        rule = CLASS_RULES.get(class_key(cls), {}).get(name)
        if rule is not None:
            return rule
    return NAME_RULES.get(name)


def check_field(cls: type | None, name: str, value: Any, key: str, metadata: Any = None) -> None:
    """Raise ConfigError when ``value`` breaks the rule of field ``name`` (dotted param ``key``)."""
    rule = rule_for(cls, name, metadata)
    if rule is not None:
        rule.check(value, key)


def check_fields_together(cls: type, values: dict[str, Any], where: str) -> None:
    """Run the rules that tie several fields of dataclass ``cls`` together on its field ``values``."""
    rules = CROSS_RULES.get(class_key(cls), ())
    if rules:
        obj = SimpleNamespace(**values)
        for rule in rules:
            rule(obj, where)
