"""Part-segmentation splits from prepared data (real ShapeNet-Part sample and a hand-written one)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from nf2vec_core.data.prepare import DatasetParams, prepare_dataset
from nf2vec_core.errors import BadInputError, ConfigError
from nf2vec_core.store.io import write_csv, write_json, write_tensors
from nf2vec_core.store.prepared import PreparedData
from nf2vec_core.tasks.part_data import load_part_splits


def _prepared(root, source="procedural", classes=("mug", "bottle"), labels=None):
    n = 4
    rng = np.random.default_rng(0)
    cls = np.array([0, 0, 1, 1])
    lab = labels if labels is not None else np.stack([rng.integers(0, 2 + c, 10) for c in cls])
    write_tensors(root / "fields.safetensors", {"surface": torch.as_tensor(rng.normal(size=(n, 10, 3)), dtype=torch.float32),
                                                "surface_labels": torch.as_tensor(lab, dtype=torch.int64)})
    write_csv(root / "index.csv", pd.DataFrame({"id": [f"s{i}" for i in range(n)], "source": source,
                                                "class_name": [classes[c] for c in cls], "class_id": cls,
                                                "split": ["train", "val", "train", "test"]}))
    write_json(root / "meta.json", {"kind": "occupancy", "source": source, "classes": list(classes)})
    return PreparedData(root)


def test_splits_labels_and_embeddings_by_id(tmp_path):
    prep = _prepared(tmp_path)
    emb_index = pd.DataFrame({"id": ["s3", "s2", "s1", "s0"]})
    emb = torch.tensor([[3.0], [2.0], [1.0], [0.0]])
    splits, tax = load_part_splits(prep, points=8, embeddings=emb, embedding_index=emb_index)
    assert tax.categories == ("mug", "bottle") and tax.parts_of() == {"mug": [0, 1], "bottle": [2, 3, 4]}
    assert {k: len(v) for k, v in splits.items()} == {"train": 2, "val": 1, "test": 1}
    assert splits["train"].embeddings.flatten().tolist() == [0.0, 2.0]
    assert splits["train"].points.shape == (2, 8, 3)
    stored = prep.tensor("surface_labels")
    assert torch.equal(splits["train"].labels[1], stored[2, :8] + 2)     # bottle: offset 2
    with pytest.raises(BadInputError, match=r"1 prepared item\(s\) have no embedding \(e.g. 's0'\)"):
        load_part_splits(prep, points=8, embeddings=emb[:3], embedding_index=emb_index[:3])
    with pytest.raises(ConfigError, match="12 points per shape asked.*10 surface samples"):
        load_part_splits(prep, points=12)


def test_sources_without_part_labels_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    with pytest.raises(ConfigError, match="source 'modelnet' has none"):
        load_part_splits(_prepared(tmp_path / "a", source="modelnet", classes=("chair", "sofa")))
    (tmp_path / "b").mkdir()
    with pytest.raises(BadInputError, match=r"fields.safetensors: shape 0 \(mug\) point 0: part label -1"):
        load_part_splits(_prepared(tmp_path / "b", labels=-np.ones((4, 10))), points=5)


def test_real_shapenet_part_sample(shared_data, tmp_path):
    p = DatasetParams(source="shapenet_part", field="udf", root=str(shared_data / "shapenet-part-sample"),
                      n_per_class=0, n_queries=256, n_offgrid=64, n_surface=2048, workers=1)
    prepare_dataset(p, tmp_path)
    splits, tax = load_part_splits(PreparedData(tmp_path), splits=("train",), points=2048)
    assert tax.num_parts == 50 and len(splits["train"]) == 16     # one shape per category, all in the train list
    train = splits["train"]
    owner = torch.as_tensor(tax.owner())[train.labels]
    assert torch.equal(owner, train.class_ids[:, None].expand_as(owner))
    airplane = train.labels[train.class_ids == tax.categories.index("Airplane")]
    assert set(airplane.unique().tolist()) == {0, 1, 2, 3}        # all four airplane parts, ids 0-3


def test_params_section_and_scores_record():
    from nf2vec_core.config import load_section
    from nf2vec_core.tasks.part_data import PartSegParams, scores_record

    p = load_section({"part_seg": {"points": 1024, "decoder": {"hidden": 128, "epochs": 5},
                                   "pointnet": {"input_transform": True}}}, "part_seg", PartSegParams)
    assert p.points == 1024 and p.decoder.hidden == 128 and p.decoder.layers == 5 and p.pointnet.input_transform
    with pytest.raises(ConfigError, match="part_seg.decoder.hiden"):
        load_section({"part_seg": {"decoder": {"hiden": 1}}}, "part_seg", PartSegParams)
    rec = scores_record({"instance_miou": 0.5, "class_miou": 0.25, "accuracy": 0.75, "shape_ious": np.zeros(3),
                         "per_category": {"a": {"miou": 0.5, "shapes": 3}, "b": {"miou": None, "shapes": 0}}})
    assert rec == {"instance_miou": 0.5, "class_miou": 0.25, "accuracy": 0.75, "shapes": 3,
                   "per_category": {"a": 0.5, "b": None}}
