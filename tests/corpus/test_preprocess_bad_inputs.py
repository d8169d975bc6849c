"""Preprocessing a folder that mixes good and bad files: the good items are prepared, every bad one
is listed with its reason, splits are drawn after the rejection, a run with no usable item writes
its rejected list and ends in one line, and the outputs of an earlier run survive a failed one."""
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import trimesh
import yaml

from bad_inputs import CUBE_OBJ, GARBAGE, SQUARE_OFF
from nf2vec_core.data.prepare import DatasetParams, assign_splits, prepare_dataset
from nf2vec_core.errors import BadInputError

REPO = Path(__file__).resolve().parents[2]
SMALL = dict(source="modelnet", field="occupancy", n_per_class=0, resolution=16, n_queries=512, n_offgrid=256,
             n_surface=256, sign_resolution=32, workers=1)
OUTPUTS = ("fields.safetensors", "index.csv", "meta.json", "rejected.csv")


def _off(mesh: trimesh.Trimesh) -> str:
    return (f"OFF\n{len(mesh.vertices)} {len(mesh.faces)} 0\n"
            + "\n".join(" ".join(f"{x:.6f}" for x in v) for v in mesh.vertices) + "\n"
            + "\n".join("3 " + " ".join(map(str, f)) for f in mesh.faces) + "\n")


def _good(cls: str, i: int) -> str:
    if cls == "box":
        return _off(trimesh.creation.box(extents=(1.0, 0.6 + 0.1 * i, 0.4)))
    return _off(trimesh.creation.icosphere(subdivisions=1, radius=1.0 + 0.1 * i))


def _tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


BAD = {"box/box_truncated.off": "OFF\n8 12 0\n0 0 0\n",
       "ball/ball_flat.off": SQUARE_OFF,                       # zero volume
       "ball/ball_empty.off": "",
       "ball/ball_wrong_layout.obj": CUBE_OBJ}                 # an .obj in an OFF layout
REASONS = {"box/box_truncated": "truncated", "ball/ball_flat": "zero-volume mesh", "ball/ball_empty": "empty file",
           "ball/ball_wrong_layout.obj": "unexpected file type '.obj'"}


def _mixed(root: Path) -> Path:
    good = {f"{c}/{c}_{i}.off": _good(c, i) for c in ("box", "ball") for i in range(4 if c == "box" else 3)}
    return _tree(root, {**good, **BAD})


def test_good_items_are_prepared_and_bad_ones_listed_with_reasons(tmp_path):
    meta = prepare_dataset(DatasetParams(root=str(_mixed(tmp_path / "data")), **SMALL), tmp_path / "out")
    index = pd.read_csv(tmp_path / "out" / "index.csv")
    rejected = pd.read_csv(tmp_path / "out" / "rejected.csv")
    assert meta["count"] == 7 and meta["rejected"] == 4
    assert sorted(index["id"]) == sorted(f"{c}/{c}_{i}" for c in ("box", "ball") for i in range(4 if c == "box" else 3))
    assert dict(zip(rejected["id"], rejected["reason"])).keys() == REASONS.keys()
    for rid, reason in zip(rejected["id"], rejected["reason"]):
        assert REASONS[rid] in reason, (rid, reason)
    from nf2vec_core.store.prepared import PreparedData
    voxels = PreparedData(tmp_path / "out").tensor("voxels")
    assert voxels.shape == (7, 16, 16, 16) and bool((voxels.flatten(1).sum(1) > 0).all())


def test_a_flat_mesh_is_a_valid_udf(tmp_path):
    """Zero volume is refused only for the fields that need an inside."""
    root = _tree(tmp_path / "data", {"sheet/sheet_0.off": SQUARE_OFF, "sheet/sheet_1.off": SQUARE_OFF})
    meta = prepare_dataset(DatasetParams(root=str(root), **{**SMALL, "field": "udf"}), tmp_path / "out")
    assert meta["count"] == 2 and meta["rejected"] == 0


def test_splits_are_drawn_after_the_rejection(tmp_path):
    """A rejected item cannot take the only validation slot of its class."""
    p = DatasetParams(**SMALL)
    ids = [f"box/box_{i}" for i in range(4)]
    before = assign_splits(ids, ["box"] * 4, p.split.val, p.split.test, p.seed)
    assert Counter(before) == {"train": 2, "val": 1, "test": 1}
    val_item = ids[before.index("val")]
    files = {f"{i}.off": _good("box", k) for k, i in enumerate(ids)}
    files[f"{val_item}.off"] = "OFF\n8 12 0\n"                # the item the old order gave to val
    root = _tree(tmp_path / "data", files)
    prepare_dataset(DatasetParams(root=str(root), **SMALL), tmp_path / "out")
    index = pd.read_csv(tmp_path / "out" / "index.csv")
    assert val_item not in set(index["id"]) and len(index) == 3
    assert Counter(index["split"]) == {"train": 1, "val": 1, "test": 1}
    assert list(index["split"]) == assign_splits(list(index["id"]), ["box"] * 3, p.split.val, p.split.test, p.seed)


def test_all_bad_writes_the_rejected_list_and_one_line(tmp_path):
    root = _tree(tmp_path / "data", BAD)
    with pytest.raises(BadInputError) as err:
        prepare_dataset(DatasetParams(root=str(root), **SMALL), tmp_path / "out")
    msg = str(err.value)
    assert "\n" not in msg and str(root) in msg and "all 4 items rejected" in msg, msg
    assert "truncated (1)" in msg and str(tmp_path / "out" / "rejected.csv") in msg, msg
    rejected = pd.read_csv(tmp_path / "out" / "rejected.csv")
    assert set(rejected["id"]) == set(REASONS) and rejected["reason"].str.len().min() > 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["rejected.csv"]


def test_only_files_of_another_format(tmp_path):
    root = _tree(tmp_path / "data", {"box/a.obj": CUBE_OBJ, "box/b.ply": GARBAGE})
    with pytest.raises(BadInputError, match="all 2 items rejected .unexpected file type '.obj' .1., "
                                            "unexpected file type '.ply' .1.."):
        prepare_dataset(DatasetParams(root=str(root), **SMALL), tmp_path / "out")


def test_a_failed_run_keeps_the_outputs_of_an_earlier_one(tmp_path):
    root = _mixed(tmp_path / "data")
    out = tmp_path / "out"
    prepare_dataset(DatasetParams(root=str(root), **SMALL), out)
    before = {name: (out / name).read_bytes() for name in OUTPUTS}
    for path in root.rglob("*.off"):                          # every file goes bad
        path.write_bytes(GARBAGE)
    with pytest.raises(BadInputError, match="all 11 items rejected .* reasons in .*rejected.failed.csv"):
        prepare_dataset(DatasetParams(root=str(root), **SMALL), out)
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == before
    assert len(pd.read_csv(out / "rejected.failed.csv")) == 11
    _mixed(root)                                              # repaired: the stale list goes
    prepare_dataset(DatasetParams(root=str(root), **SMALL), out)
    assert not (out / "rejected.failed.csv").exists()
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == before


def _stage(tmp_path: Path, root: Path, out: Path) -> subprocess.CompletedProcess:
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"datasets": {"mine": {**SMALL, "root": str(root)}}}))
    return subprocess.run([sys.executable, str(REPO / "stages" / "preprocess.py"), "--params", str(params),
                           "--dataset", "mine", "--out", str(out)], capture_output=True, text=True, cwd=REPO,
                          timeout=300)


def test_stage_all_bad_exits_2_with_one_error_line(tmp_path):
    res = _stage(tmp_path, _tree(tmp_path / "data", BAD), tmp_path / "out")
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert res.returncode == 2 and len(errors) == 1 and "Traceback" not in res.stderr, res.stderr
    assert "no usable item: all 4 items rejected" in errors[0]
    assert len(pd.read_csv(tmp_path / "out" / "rejected.csv")) == 4


def test_stage_mixed_succeeds(tmp_path):
    res = _stage(tmp_path, _mixed(tmp_path / "data"), tmp_path / "out")
    assert res.returncode == 0, res.stderr
    assert "prepared 7 items (4 rejected)" in res.stdout
    assert np.isin(list(REASONS), pd.read_csv(tmp_path / "out" / "rejected.csv")["id"]).all()
