"""The shape_generate stage end to end on tiny artifacts built here: prepared balls of two classes,
their embeddings, an (untrained) encoder/decoder checkpoint and an embedding classifier."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from nf2vec_core.decoders.implicit import ImplicitDecoderConfig
from nf2vec_core.encoders.rows import RowEncoderConfig, num_rows
from nf2vec_core.nf.layout import ArchSpec
from nf2vec_core.runtime import torch_threads
from nf2vec_core.store.embeddings import write_embeddings
from nf2vec_core.store.io import write_tensors
from nf2vec_core.store.paths import Layout
from nf2vec_core.tasks.classification import ClassifierConfig, EmbeddingClassifier, save_classifier
from nf2vec_core.train.checkpoint import atomic_save, build_models

REPO = Path(__file__).resolve().parents[1]
D = "tiny"
SPLITS = ["train"] * 6 + ["val"] * 2 + ["test"] * 3          # per class
PARAMS = {
    "shape_generation": {"gan": {"noise_dim": 4, "pca_dim": 4, "generator": [16], "critic": [16], "steps": 15,
                                 "n_critic": 2, "batch_size": 8, "draws": 2},
              "decode_draws": 2, "n_points": 64, "metric_points": 32, "resolution": 12, "figure_per_class": 1},
    "reconstruct": {"level": None, "n_calibration": 4},
}


def _tiny_artifacts(root: Path) -> Layout:
    paths = Layout(root)
    g = torch.Generator().manual_seed(0)
    classes = ["small", "large"]
    rows = [(c, s) for c in range(2) for s in SPLITS]
    radius = torch.tensor([0.3 + 0.4 * c for c, _ in rows]) + 0.05 * torch.rand(len(rows), generator=g)
    index = pd.DataFrame({"id": [f"{classes[c]}_{i:02d}" for i, (c, _) in enumerate(rows)], "source": "test",
                          "class_name": [classes[c] for c, _ in rows], "class_id": [c for c, _ in rows],
                          "split": [s for _, s in rows]})
    res = 8
    axis = (torch.arange(res) + 0.5) / res * 2 - 1
    grid = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), -1).norm(dim=-1)
    surface = torch.nn.functional.normalize(torch.randn(len(rows), 128, 3, generator=g), dim=-1) * radius[:, None, None]
    prepared = paths.prepared(D)
    prepared.mkdir(parents=True)
    (prepared / "meta.json").write_text(json.dumps({"kind": "occupancy", "clip": 0.1, "classes": classes}))
    index.to_csv(prepared / "index.csv", index=False)
    write_tensors(prepared / "fields.safetensors", {"voxels": (grid < radius[:, None, None, None]).to(torch.uint8),
                                                    "surface": surface})
    emb = torch.cat([radius[:, None], 0.1 * torch.randn(len(rows), 5, generator=g)], 1)
    write_embeddings(paths.embeddings(D), emb, index)

    spec, enc, dec = ArchSpec("siren", hidden=8, depth=2), RowEncoderConfig(hidden=(8,), embed_dim=6), \
        ImplicitDecoderConfig(hidden=16, layers=2, pe_freqs=2)
    meta = json.loads(json.dumps({"spec": spec.to_json(), "field_kind": "occupancy", "in_features": spec.hidden,
                                  "num_rows": num_rows(spec, enc), "in_dim": 3, "out_dim": 1,
                                  "encoder": enc.to_dict(), "decoder": dec.to_dict()}))
    torch.manual_seed(0)
    encoder, decoder = build_models(meta)
    paths.models(D).mkdir(parents=True)
    atomic_save({"meta": meta, "encoder": encoder.state_dict(), "decoder": decoder.state_dict()}, paths.encoder(D))
    cfg = ClassifierConfig(hidden=(8,), dropout=0.0)
    save_classifier(paths.classifier(D), EmbeddingClassifier(6, 2, cfg.hidden, cfg.dropout), cfg, classes)
    return paths


def _stage(paths: Layout, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "stages"))
    spec = importlib.util.spec_from_file_location("_shape_generate_stage", REPO / "stages" / "shape_generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "PATHS", paths)
    return mod


def _run(mod, params: Path, monkeypatch) -> None:
    """The stage on one torch thread: on tiny tensors a second one only waits (long on a loaded machine)."""
    monkeypatch.setattr("sys.argv", ["shape_generate.py", "--dataset", D, "--params", str(params)])
    with torch_threads(1):
        mod.run(mod.main)


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    paths = _tiny_artifacts(tmp_path)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(PARAMS))
    return paths, params, _stage(paths, monkeypatch)


def test_the_stage_writes_scores_figure_and_curve(tiny, monkeypatch):
    paths, params, mod = tiny
    _run(mod, params, monkeypatch)
    m = json.loads(paths.metrics("shape_generation", D).read_text())
    assert (m["n_train"], m["n_val"], m["n_test"]) == (12, 4, 6)
    assert set(m["chamfer"]) == {"latent_gan", "gaussian_per_class", "train_embeddings", "train_surfaces"}
    assert set(m["embedding"]) == {"latent_gan", "gaussian_per_class", "train_embeddings"}
    for row in (*m["chamfer"].values(), *m["embedding"].values()):
        assert 0 <= row["1nna"] <= 1 and 0 <= row["coverage"] <= 1 and row["mmd"] >= 0
    assert m["embedding"]["train_embeddings"]["novelty"] == 0.0           # copies of the training items
    assert 0 < m["level"] < 1 and len(m["level_calibration"]) == 19        # chosen on the validation items
    assert set(m["empty_share"]) == {"latent_gan", "gaussian_per_class", "train_embeddings"}
    assert "seconds" not in m and json.loads(paths.timings("shape_generation", D).read_text())["seconds"] >= 0
    curve = pd.read_csv(paths.plot("shape_generation", D, "csv"))
    assert list(curve["step"]) == list(range(15)) and {"wasserstein", "generator_loss"} <= set(curve)
    assert paths.plot("shape_generation", D).stat().st_size > 1000


def test_a_rerun_writes_the_same_metrics(tiny, monkeypatch):
    paths, params, mod = tiny
    _run(mod, params, monkeypatch)
    first = paths.metrics("shape_generation", D).read_bytes()
    _run(mod, params, monkeypatch)
    assert paths.metrics("shape_generation", D).read_bytes() == first


def test_embeddings_of_other_items_end_in_one_line(tiny, monkeypatch, capsys):
    paths, params, mod = tiny
    index = pd.read_csv(paths.prepared(D) / "index.csv")
    index.iloc[::-1].to_csv(paths.prepared(D) / "index.csv", index=False)
    with pytest.raises(SystemExit) as exc:
        _run(mod, params, monkeypatch)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "index does not match the prepared data" in err and "\n" not in err
