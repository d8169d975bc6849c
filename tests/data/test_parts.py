"""Part taxonomies: the benchmark's global part numbering, label mapping and its errors."""
from __future__ import annotations

import numpy as np
import pytest

from nf2vec_core.data import procedural as proc
from nf2vec_core.data.layouts import scan_shapenet_part
from nf2vec_core.data.parts import (PartTaxonomy, global_part_labels, procedural_taxonomy, shapenet_part_taxonomy,
                                    taxonomy_for)
from nf2vec_core.data.readers import read_part_shape
from nf2vec_core.errors import BadInputError, ConfigError

# the benchmark's seg_classes (PointNet / PointNet++ part-segmentation evaluation code)
SEG_CLASSES = {"Earphone": [16, 17, 18], "Motorbike": [30, 31, 32, 33, 34, 35], "Rocket": [41, 42, 43],
               "Car": [8, 9, 10, 11], "Laptop": [28, 29], "Cap": [6, 7], "Skateboard": [44, 45, 46],
               "Mug": [36, 37], "Guitar": [19, 20, 21], "Bag": [4, 5], "Lamp": [24, 25, 26, 27],
               "Table": [47, 48, 49], "Airplane": [0, 1, 2, 3], "Pistol": [38, 39, 40],
               "Chair": [12, 13, 14, 15], "Knife": [22, 23]}


def test_shapenet_part_numbering_is_the_benchmarks():
    tax = shapenet_part_taxonomy()
    assert tax.num_parts == 50 and tax.num_categories == 16
    assert tax.parts_of() == {c: SEG_CLASSES[c] for c in sorted(SEG_CLASSES)}
    mask = tax.mask()
    assert mask.shape == (16, 50) and mask.sum() == 50 and (mask.sum(axis=0) == 1).all()
    assert list(tax.owner()[[0, 3, 4, 49]]) == [0, 0, 1, 15]


def test_subset_and_procedural_taxonomies():
    tax = shapenet_part_taxonomy(["Mug", "Airplane"])
    assert tax.parts_of() == {"Mug": [0, 1], "Airplane": [2, 3, 4, 5]}
    proc_tax = procedural_taxonomy()
    assert proc_tax.categories == proc.CLASSES
    assert proc_tax.parts_of()["chair"] == [2, 3, 4, 5]          # after table's top and leg
    assert proc_tax.num_parts == sum(len(v) for v in proc.PART_NAMES.values())
    assert taxonomy_for("procedural", ["mug"]) == (PartTaxonomy(("mug",), (2,)), 0)
    assert taxonomy_for("shapenet_part", ["Bag"])[1] == 1
    with pytest.raises(ConfigError, match="no.*part labels|has none"):
        taxonomy_for("modelnet", ["chair"])
    with pytest.raises(ConfigError, match="unknown categories"):
        shapenet_part_taxonomy(["Sofa"])
    with pytest.raises(ConfigError, match="duplicate"):
        PartTaxonomy(("a", "a"), (1, 2))


def test_global_part_labels_known_answer_and_errors():
    tax = PartTaxonomy(("a", "b"), (2, 3))
    out = global_part_labels(np.array([[1, 2, 1], [3, 1, 2]]), np.array([0, 1]), tax, base=1)
    assert out.tolist() == [[0, 1, 0], [4, 2, 3]]
    with pytest.raises(BadInputError, match=r"x.npz.*shape 0 \(a\) point 1: part label 3 is not one of a's 2 parts \(1..2\)"):
        global_part_labels(np.array([[1, 3, 1]]), np.array([0]), tax, base=1, where="x.npz")
    with pytest.raises(BadInputError, match="no part labels"):
        global_part_labels(-np.ones((1, 3)), np.array([1]), tax)
    with pytest.raises(BadInputError, match="class ids"):
        global_part_labels(np.zeros((1, 3)), np.array([2]), tax)


def test_procedural_surface_labels_are_parts_of_their_class():
    for name in ("chair", "airplane"):
        shape = proc.make_shape(name, 3)
        _, _, labels = proc.sample_surface(shape, 500, seed=0, resolution=32)
        tax = procedural_taxonomy()
        glob = global_part_labels(labels[None], np.array([tax.categories.index(name)]), tax)
        assert set(np.unique(glob)) <= set(tax.parts_of()[name])
        assert len(np.unique(labels)) >= 2     # several parts are visible on the surface


def test_real_shapenet_part_labels_map_into_their_categories(shared_data):
    items = scan_shapenet_part(shared_data / "shapenet-part-sample")
    tax, base = taxonomy_for("shapenet_part", sorted({it.class_name for it in items}))
    assert tax.num_parts == 50
    for it in items:
        _, lab = read_part_shape(it.path, it.extra["seg_path"])
        glob = global_part_labels(lab[None], np.array([tax.categories.index(it.class_name)]), tax, base, it.id)
        assert set(np.unique(glob)) <= set(SEG_CLASSES[it.class_name])
