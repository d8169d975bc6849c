"""Range and meaning checks of every params section: the shipped params load; a corpus of bad values,
each with the message it must give; a few stage scripts run on a bad params file exit 2 with one line."""
from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from nf2vec_core.arena.repeatability import ConnectivityParams
from nf2vec_core.config import MISSING, load_section, load_value, merge_params, read_params
from nf2vec_core.data.prepare import DatasetParams
from nf2vec_core.decoders.implicit import ImplicitDecoderConfig
from nf2vec_core.errors import ConfigError
from nf2vec_core.fitting.run import FitParams, NFParams, ViewParams
from nf2vec_core.nerf.arch import NerfArch
from nf2vec_core.nerf.dataset import NerfDataParams
from nf2vec_core.nerf.encoder import NerfEncoderParams
from nf2vec_core.nerf.fit import NerfFitConfig
from nf2vec_core.nerf.tasks import BaselineParams, TransferParams
from nf2vec_core.runtime import check_device
from nf2vec_core.tasks.classification import ClassifierConfig
from nf2vec_core.tasks.completion import CompletionParams
from nf2vec_core.tasks.generation import LatentGanParams
from nf2vec_core.tasks.params import RetrievalParams, TimingParams
from nf2vec_core.tasks.pointnet import PointNetConfig
from nf2vec_core.tasks.reconstruction import ReconstructParams
from nf2vec_core.tasks.shape_generation import ShapeGenerationParams
from nf2vec_core.train.params import EncoderParams
from nf2vec_core.weightspace.params import WeightspaceParams

REPO_ROOT = Path(__file__).resolve().parents[1]

# every section the stage scripts load, with its dataclass (keyed sections are expanded below)
SECTIONS: dict[str, type] = {
    "nf": NFParams, "fit": FitParams, "views": ViewParams, "encoder": EncoderParams,
    "decoder": ImplicitDecoderConfig, "classifier": ClassifierConfig, "weightspace": WeightspaceParams,
    "retrieval": RetrievalParams, "reconstruct": ReconstructParams, "pointnet": PointNetConfig,
    "timing": TimingParams, "shape_generation": ShapeGenerationParams, "nerf.data": NerfDataParams,
    "nerf.arch": NerfArch, "nerf.fit": NerfFitConfig,
    "nerf.encoder": NerfEncoderParams, "nerf.decoder": ImplicitDecoderConfig, "nerf.baseline": BaselineParams,
    "nerf.transfer": TransferParams, "nerf.generation": LatentGanParams, "arena.fit": FitParams,
    "arena.classify": WeightspaceParams, "arena.connectivity": ConnectivityParams, "completion": CompletionParams,
}
KEYED: dict[str, type] = {"datasets": DatasetParams, "arena.datasets": DatasetParams, "arena.nfs": NFParams}
VALUES: dict[str, tuple[type, Any]] = {"nerf.shard_size": (int, MISSING), "nerf.device": (str, "auto")}


def default_params() -> dict:
    return read_params(REPO_ROOT / "params.yaml")


def all_sections(p: dict) -> dict[str, type]:
    out = dict(SECTIONS)
    for parent, cls in KEYED.items():
        node = p
        for part in parent.split("."):
            node = node[part]
        out.update({f"{parent}.{name}": cls for name in node})
    return out


def load_all(p: dict) -> None:
    for dotted, cls in all_sections(p).items():
        load_section(p, dotted, cls)
    for dotted, (tp, default) in VALUES.items():
        load_value(p, dotted, tp, default=default)


@pytest.mark.parametrize("overlay", [None, "configs/paper.yaml"])
def test_shipped_params_pass_every_rule(overlay):
    p = default_params()
    if overlay:
        p = merge_params(p, read_params(REPO_ROOT / overlay))
    load_all(p)


def with_value(p: dict, dotted: str, value: Any) -> dict:
    p = copy.deepcopy(p)
    *parents, name = dotted.split(".")
    node = p
    for part in parents:
        node = node.setdefault(part, {})
    node[name] = value
    return p


def section_of(p: dict, dotted: str) -> tuple[str, type | None]:
    """The section that holds param ``dotted`` (the longest known prefix) and its dataclass."""
    if dotted in VALUES:
        return dotted, None
    sections = all_sections(p)
    parts = dotted.split(".")
    for n in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:n])
        if head in sections:
            return head, sections[head]
    raise KeyError(dotted)


# (dotted param, bad value, fragment of the message it must give)
BAD = [
    # the known defects
    ("fit.steps", -5, "param 'fit.steps' must be a positive integer, got -5"),
    ("fit.steps", 0, "param 'fit.steps' must be a positive integer, got 0"),
    ("fit.chunk_size", 0, "param 'fit.chunk_size' must be a positive integer, got 0"),
    ("fit.shard_size", 0, "param 'fit.shard_size' must be a positive integer, got 0"),
    ("fit.lr", -1, "param 'fit.lr' must be a number > 0, got -1.0"),
    ("fit.points_per_step", -1, "param 'fit.points_per_step' must be an integer >= 0, got -1"),
    ("fit.device", "gpu", "param 'fit.device' must be one of auto, cpu, cuda, cuda:N, mps, got 'gpu'"),
    # every section
    ("fit.lr_final", 1.5, "param 'fit.lr_final' must be in [0, 1], got 1.5"),
    ("fit.seed", -1, "param 'fit.seed' must be an integer >= 0"),
    ("fit.workers", -2, "param 'fit.workers' must be an integer >= 0"),
    ("fit.lr", float("nan"), "param 'fit.lr' must be a number > 0, got nan"),
    ("nf.hidden", 0, "param 'nf.hidden' must be a positive integer"),
    ("nf.depth", -1, "param 'nf.depth' must be a positive integer"),
    ("nf.w0", 0.0, "param 'nf.w0' must be a number > 0"),
    ("nf.family", "relu", "param 'nf.family': 'relu' is not one of"),
    ("datasets.shapes.resolution", 0, "param 'datasets.shapes.resolution' must be a positive integer"),
    ("datasets.shapes.n_per_class", 0, "param 'datasets.shapes.n_per_class' must be a positive integer for "
                                       "source 'procedural'"),
    ("datasets.shapes.split.val", 1.5, "param 'datasets.shapes.split.val' must be in [0, 1]"),
    ("datasets.shapes.split.test", 0.95, "must sum to < 1"),
    ("datasets.shapes.clip", 0.0, "param 'datasets.shapes.clip' must be a number > 0"),
    ("datasets.shapes.max_yaw_deg", 270.0, "param 'datasets.shapes.max_yaw_deg' must be in [0, 180]"),
    ("datasets.shapes.source", "shapenet", "param 'datasets.shapes.source': unknown source 'shapenet'"),
    ("arena.datasets.digits.field", "sdf", "param 'arena.datasets.digits.field': image source 'digits' needs"),
    ("datasets.shapes.classes", [], "param 'datasets.shapes.classes' must list at least one class"),
    ("arena.datasets.mnist.root", None, "param 'arena.datasets.mnist.root' is required for source 'mnist'"),
    ("arena.datasets.mnist.n_per_class", -1, "param 'arena.datasets.mnist.n_per_class' must be an integer >= 0"),
    ("arena.nfs.siren.hidden", -32, "param 'arena.nfs.siren.hidden' must be a positive integer"),
    ("arena.fit.chunk_size", 0, "param 'arena.fit.chunk_size' must be a positive integer"),
    ("views.count", 0, "param 'views.count' must be a positive integer"),
    ("encoder.hidden", [128, 0, 256], "param 'encoder.hidden[1]' must be a positive integer, got 0"),
    ("encoder.embed_dim", 0, "param 'encoder.embed_dim' must be a positive integer"),
    ("encoder.batch_size", 0, "param 'encoder.batch_size' must be a positive integer"),
    ("encoder.lr", 0, "param 'encoder.lr' must be a number > 0, got 0"),
    ("encoder.weight_decay", -0.1, "param 'encoder.weight_decay' must be a number >= 0"),
    ("encoder.row_noise", -1.0, "param 'encoder.row_noise' must be a number >= 0"),
    ("encoder.contrastive", -0.5, "param 'encoder.contrastive' must be a number >= 0"),
    ("encoder.queries_per_item", 0, "param 'encoder.queries_per_item' must be a positive integer"),
    ("decoder.layers", 0, "param 'decoder.layers' must be a positive integer"),
    ("decoder.pe_freqs", -1, "param 'decoder.pe_freqs' must be an integer >= 0"),
    ("classifier.dropout", 1.0, "param 'classifier.dropout' must be in [0, 1), got 1.0"),
    ("classifier.batch_size", 1, "param 'classifier.batch_size' must be an integer >= 2"),
    ("classifier.epochs", 0, "param 'classifier.epochs' must be a positive integer"),
    ("weightspace.train.lr", -0.001, "param 'weightspace.train.lr' must be a number > 0"),
    ("weightspace.gnn.steps", -1, "param 'weightspace.gnn.steps' must be an integer >= 0"),
    ("weightspace.gnn.hidden", 0, "param 'weightspace.gnn.hidden' must be a positive integer"),
    ("weightspace.mlp.dropout", -0.1, "param 'weightspace.mlp.dropout' must be in [0, 1)"),
    ("weightspace.connectivity_steps", 1, "param 'weightspace.connectivity_steps' must be an integer >= 2"),
    ("arena.classify.train.batch_size", 0, "param 'arena.classify.train.batch_size' must be a positive integer"),
    ("retrieval.ks", [1, 0], "param 'retrieval.ks[1]' must be a positive integer"),
    ("reconstruct.n_points", 0, "param 'reconstruct.n_points' must be a positive integer"),
    ("reconstruct.interpolation_steps", 1, "param 'reconstruct.interpolation_steps' must be an integer >= 2"),
    ("reconstruct.fscore_threshold", -0.01, "param 'reconstruct.fscore_threshold' must be a number > 0"),
    ("reconstruct.n_calibration", -1, "param 'reconstruct.n_calibration' must be an integer >= 0"),
    ("pointnet.scale_low", 2.0, "param 'pointnet.scale_low' must be <= 'pointnet.scale_high'"),
    ("pointnet.jitter_sigma", -0.01, "param 'pointnet.jitter_sigma' must be a number >= 0"),
    ("timing.repeats", 0, "param 'timing.repeats' must be a positive integer"),
    ("timing.points", [2048, -1], "param 'timing.points[1]' must be a positive integer"),
    ("nerf.data.n_per_class", 0, "param 'nerf.data.n_per_class' must be a positive integer, got 0"),
    ("nerf.data.views.height", 0, "param 'nerf.data.views.height' must be a positive integer"),
    ("nerf.data.views.radius", 1.0, "param 'nerf.data.views.radius' must be > 1.73205"),
    ("nerf.data.views.fov_deg", 180.0, "param 'nerf.data.views.fov_deg' must be in (1, 170)"),
    ("nerf.data.views.ambient", 1.5, "param 'nerf.data.views.ambient' must be in [0, 1]"),
    ("nerf.data.views.light_dir", [0.0, 0.0, 0.0], "param 'nerf.data.views.light_dir' must be a non-zero vector"),
    ("nerf.data.views.palette", "rainbow", "param 'nerf.data.views.palette': 'rainbow' is not one of"),
    ("nerf.data.n_test_per_class", -1, "param 'nerf.data.n_test_per_class' must be an integer >= 0, got -1"),
    ("nerf.arch.hidden", 0, "param 'nerf.arch.hidden' must be a positive integer"),
    ("nerf.arch.aabb", [1.0, -1.0, -1.0, -1.0, 1.0, 1.0], "param 'nerf.arch.aabb' must be (x0, y0, z0, x1, y1, z1)"),
    ("nerf.arch.kind", "voxel", "param 'nerf.arch.kind': 'voxel' is not one of"),
    ("nerf.arch.hash_levels", 0, "param 'nerf.arch.hash_levels' must be a positive integer, got 0"),
    ("nerf.arch.hash_log2_size", 30, "param 'nerf.arch.hash_log2_size' must be an integer in [1, 24], got 30"),
    ("nerf.arch.hash_growth", 0.5, "param 'nerf.arch.hash_growth' must be a number >= 1, got 0.5"),
    ("nerf.arch.hash_init", -1e-4, "param 'nerf.arch.hash_init' must be a number >= 0"),
    ("nerf.fit.steps", 0, "param 'nerf.fit.steps' must be a positive integer"),
    ("nerf.fit.rays_per_step", -256, "param 'nerf.fit.rays_per_step' must be a positive integer"),
    ("nerf.fit.fg_fraction", 1.25, "param 'nerf.fit.fg_fraction' must be in [0, 1]"),
    ("nerf.fit.bg_weight", -0.2, "param 'nerf.fit.bg_weight' must be a number >= 0"),
    ("nerf.fit.beta1", 1.0, "param 'nerf.fit.beta1' must be in [0, 1)"),
    ("nerf.fit.render.samples_per_ray", 0, "param 'nerf.fit.render.samples_per_ray' must be a positive integer"),
    ("nerf.fit.render.far", 0.0, "param 'nerf.fit.render.far' must be a number > 0"),
    ("nerf.shard_size", 0, "param 'nerf.shard_size' must be a positive integer, got 0"),
    ("nerf.device", "tpu", "param 'nerf.device' must be one of auto, cpu, cuda, cuda:N, mps, got 'tpu'"),
    ("nerf.encoder.epochs", 0, "param 'nerf.encoder.epochs' must be a positive integer"),
    ("nerf.encoder.distill", -1.0, "param 'nerf.encoder.distill' must be a number >= 0"),
    ("nerf.encoder.grad_clip", -1.0, "param 'nerf.encoder.grad_clip' must be a number >= 0"),
    ("nerf.decoder.hidden", 0, "param 'nerf.decoder.hidden' must be a positive integer"),
    ("nerf.baseline.channels", [32, 0], "param 'nerf.baseline.channels[1]' must be a positive integer"),
    ("nerf.baseline.views", 0, "param 'nerf.baseline.views' must be a positive integer"),
    ("nerf.transfer.hidden", [512, -1], "param 'nerf.transfer.hidden[1]' must be a positive integer"),
    ("shape_generation.gan.steps", 0, "param 'shape_generation.gan.steps' must be a positive integer"),
    ("shape_generation.metric_points", 0, "shape_generation.metric_points: must be >= 1"),
    ("shape_generation.resolution", 1, "shape_generation.resolution: must be >= 2"),
    ("nerf.generation.n_critic", 0, "param 'nerf.generation.n_critic' must be a positive integer"),
    ("nerf.generation.pca_dim", -1, "param 'nerf.generation.pca_dim' must be an integer >= 0"),
    ("nerf.generation.gp_weight", -10.0, "param 'nerf.generation.gp_weight' must be a number >= 0"),
    ("arena.connectivity.replicas", 1, "param 'arena.connectivity.replicas' must be an integer >= 2"),
    ("arena.connectivity.points_per_step", -1, "param 'arena.connectivity.points_per_step' must be an integer >= 0"),
    ("arena.connectivity.curve_steps", 0, "param 'arena.connectivity.curve_steps' must be an integer >= 2"),
    ("completion.n_points", 0, "param 'completion.n_points' must be a positive integer"),
    ("completion.transfer.epochs", 0, "param 'completion.transfer.epochs' must be a positive integer"),
    ("completion.partial.remove_high", 1.0, "completion.partial: need 0 <= remove_low <= remove_high < 1"),
]


@pytest.mark.parametrize("dotted,value,message", BAD, ids=[f"{d}={v}" for d, v, _ in BAD])
def test_bad_param_fails_at_load_naming_it(dotted, value, message):
    base = default_params()
    p = with_value(base, dotted, value)
    section, cls = section_of(base, dotted)
    with pytest.raises(ConfigError) as err:
        if cls is None:
            tp, default = VALUES[section]
            load_value(p, section, tp, default=default)
        else:
            load_section(p, section, cls)
    text = str(err.value)
    assert message in text
    assert "\n" not in text


def test_every_loaded_section_has_a_bad_value_in_the_corpus():
    p = default_params()
    covered = {section_of(p, d)[0] for d, _, _ in BAD}
    sections = set(all_sections(p)) | set(VALUES)
    missing = {s for s in sections - covered if not s.startswith(("datasets.", "arena.datasets.", "arena.nfs."))}
    assert not missing


def test_cuda_without_cuda_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    p = with_value(default_params(), "fit.device", "cuda")
    with pytest.raises(ConfigError, match=r"param 'fit.device' asks for 'cuda' but CUDA is not available"):
        load_section(p, "fit", FitParams)
    p = with_value(default_params(), "nerf.device", "cuda:0")
    with pytest.raises(ConfigError, match=r"param 'nerf.device' asks for 'cuda:0' but CUDA is not available"):
        load_value(p, "nerf.device", str, default="auto")
    check_device("cpu")
    check_device("auto")


def test_cuda_index_beyond_the_devices(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    check_device("cuda:0", "fit.device")
    with pytest.raises(ConfigError, match=r"param 'fit.device' asks for 'cuda:3' but this machine has 1"):
        check_device("cuda:3", "fit.device")


def test_valid_values_at_the_edges_pass():
    p = default_params()
    for dotted, value in [("fit.points_per_step", 0), ("fit.workers", 0), ("fit.lr_final", 0.0),
                          ("weightspace.gnn.steps", 0), ("reconstruct.n_calibration", 0), ("fit.device", "cpu"),
                          ("nerf.generation.pca_dim", 0), ("datasets.shapes.split.val", 0.0), ("fit.lr", "1e-3")]:
        q = with_value(p, dotted, value)
        section, cls = section_of(p, dotted)
        load_section(q, section, cls)


def test_class_rules_name_existing_classes():
    """The per-class rules are keyed by module path: a moved or renamed class must take its rules along."""
    import importlib

    from nf2vec_core import validation

    for key in [*validation.CLASS_RULES, *validation.CROSS_RULES]:
        module, name = key.rsplit(".", 1)
        cls = getattr(importlib.import_module(module), name, None)
        assert isinstance(cls, type) and validation.class_key(cls) == key, key


# ------------------------------------------------------------------ the stage scripts, end to end
STAGES = [
    ("fit", ["--dataset", "shapes"], "fit.steps", -5),
    ("fit", ["--dataset", "shapes"], "fit.device", "gpu"),
    ("fit_nerf", [], "nerf.shard_size", 0),
    ("train_encoder", ["--dataset", "shapes"], "encoder.lr", -1),
]


@pytest.mark.parametrize("stage,args,dotted,value", STAGES, ids=[f"{s}:{d}" for s, _, d, _ in STAGES])
def test_stage_on_a_bad_params_file_exits_2_with_one_line(tmp_path, stage, args, dotted, value):
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(with_value(default_params(), dotted, value), sort_keys=False))
    res = subprocess.run([sys.executable, str(REPO_ROOT / "stages" / f"{stage}.py"), "--params", str(params_file),
                          *args], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"'{dotted}'" in errors[0], res.stderr


def test_a_hash_grid_nerf_section_loads_and_its_sizes_are_checked_together():
    p = with_value(default_params(), "nerf.arch.kind", "hash")
    p = with_value(p, "nerf.arch.hash_levels", 6)
    arch = load_section(p, "nerf.arch", NerfArch)
    assert arch.kind == "hash" and arch.hash_levels == 6
    p = with_value(p, "nerf.arch.hash_base_res", 20000)           # 20000 * 1.5^5 cells on the finest level
    with pytest.raises(ConfigError, match=r"param 'nerf.arch.hash_levels': the finest hash level has resolution"):
        load_section(p, "nerf.arch", NerfArch)
