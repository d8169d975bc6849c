"""The corpus of bad inputs: small broken files, each with the reader that must refuse it and a
fragment of the one-line message it must give.

Files are generated (a few hundred bytes each) by :func:`build`, which writes case ``name`` under a
folder and returns the path to hand to the reader (and that the message must name). Readers are
keyed by kind; :data:`GOOD` builds a valid file of each kind, so that each broken variant is known
to fail for its defect, not for the reader.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
import trimesh
from PIL import Image
from safetensors.torch import save_file

from nf2vec_core.data.pointclouds import load_cloud, read_points, scan_clouds
from nf2vec_core.data.readers import read_mesh, read_ply_points
from nf2vec_core.nerf.arch import NerfArch
from nf2vec_core.nerf.blender import read_blender, write_blender
from nf2vec_core.nerf.dataset import NerfDataset
from nf2vec_core.nf.layout import ArchSpec
from nf2vec_core.store import neural_dataset as store
from nf2vec_core.store.prepared import PreparedData
from nf2vec_core.store.treefile import save_tree
from nf2vec_core.train.checkpoint import check_arch, load_model

CUBE_VERTS = ["0 0 0", "1 0 0", "1 1 0", "0 1 0", "0 0 1", "1 0 1", "1 1 1", "0 1 1"]
CUBE_QUADS = ["4 0 3 2 1", "4 4 5 6 7", "4 0 1 5 4", "4 2 3 7 6", "4 1 2 6 5", "4 0 4 7 3"]
CUBE_OFF = "OFF\n8 6 0\n" + "\n".join(CUBE_VERTS + CUBE_QUADS) + "\n"
SQUARE_OFF = "OFF\n4 2 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n3 0 1 2\n3 0 2 3\n"        # flat: area 1, volume 0
CUBE_OBJ = "\n".join("v " + v for v in CUBE_VERTS) + "\nf 1 4 3 2\nf 5 6 7 8\nf 1 2 6 5\nf 3 4 8 7\nf 2 3 7 6\nf 1 5 8 4\n"
GARBAGE = bytes(range(256)) * 3
NERF_ARCH = NerfArch(hidden=8, depth=1, num_freqs=2)
NF_SPEC = ArchSpec("siren", hidden=8, depth=2)


# ------------------------------------------------------------------ readers by kind
def _neural_params(path: Path) -> torch.Tensor:
    ds = store.NeuralDataset(path.parent if path.parent.name != "shards" else path.parents[1])
    return ds.init, ds.params()


def _nerf_params(path: Path) -> torch.Tensor:
    return NerfDataset(path.parents[1]).params()


def _prepared_fields(path: Path) -> torch.Tensor:
    return PreparedData(path.parent).tensor("voxels")


def _volume_mesh(path: Path):
    return read_mesh(path).require_volume(path)


def _h5_release(path: Path):
    return [load_cloud(it) for it in scan_clouds(path.parent).items]


def _model_for(path: Path):
    """Load an encoder checkpoint for a neural dataset of the ``NF_SPEC`` layout."""
    _, _, meta = load_model(path)
    return check_arch(meta, NF_SPEC, path)


READERS: dict[str, Callable[[Path], object]] = {
    "cloud": read_points,                                     # point clouds: .npy / .txt (/ .ply, .pcd)
    "h5": _h5_release,                                        # modelnet40_ply_hdf5_2048 release
    "model": _model_for,                                      # encoder checkpoint (models/<d>/best.safetensors)
    "mesh": read_mesh,                                        # OFF / OBJ / PLY meshes
    "solid": _volume_mesh,                                    # a mesh that must enclose a volume
    "points": read_ply_points,                                # PLY point clouds
    "views": lambda p: read_blender(p.parent if p.suffix == ".json" else p.parents[1], "train"),  # Blender scene
    "neural": _neural_params,                                 # store shard of fitted NFs
    "nerf": _nerf_params,                                     # NeRF store shard
    "prepared": _prepared_fields,                             # preprocess output read by fitting
}


# ------------------------------------------------------------------ writers
def _text(name: str, text: str) -> Callable[[Path], Path]:
    def write(d: Path) -> Path:
        (d / name).write_text(text)
        return d / name
    return write


def _bytes(name: str, data: bytes) -> Callable[[Path], Path]:
    def write(d: Path) -> Path:
        (d / name).write_bytes(data)
        return d / name
    return write


def _ply_bytes(points: np.ndarray, faces: np.ndarray | None = None, encoding: str = "binary") -> bytes:
    obj = trimesh.PointCloud(points) if faces is None else trimesh.Trimesh(points, faces, process=False)
    return obj.export(file_type="ply", encoding=encoding)


def _box_ply(encoding: str) -> bytes:
    box = trimesh.creation.box()
    return _ply_bytes(box.vertices, box.faces, encoding)


def _png_bytes(height: int = 8, width: int = 8) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (height, width, 4), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _scene(d: Path, mutate: Callable[[dict], None] | None = None, png: bytes | None = None) -> Path:
    """A 2-view Blender scene; ``mutate`` edits the transforms JSON, ``png`` replaces view 1's file."""
    rgba = np.random.default_rng(0).random((2, 8, 8, 4))
    path = write_blender(d, "train", rgba, np.tile(np.eye(4), (2, 1, 1)), 0.7)
    if mutate is not None:
        data = json.loads(path.read_text())
        mutate(data)
        path.write_text(json.dumps(data))
    if png is not None:
        (d / "train" / "r_1.png").write_bytes(png)
    return path


def _views(mutate=None, png=None, name_png=False) -> Callable[[Path], Path]:
    def write(d: Path) -> Path:
        path = _scene(d, mutate, png)
        return d / "train" / "r_1.png" if name_png else path
    return write


def _transforms_text(text: str) -> Callable[[Path], Path]:
    def write(d: Path) -> Path:
        path = _scene(d)
        path.write_text(text)
        return path
    return write


def _no_png(d: Path) -> Path:
    _scene(d)
    (d / "train" / "r_1.png").unlink()
    return d / "train" / "r_1.png"


def _neural_store(params: torch.Tensor | bytes | None = None, rows: int = 3,
                  init: bytes | None = None) -> Callable[[Path], Path]:
    """A finalized neural dataset of ``rows`` NFs whose shard 0 holds ``params`` (a tensor, raw bytes,
    or None for no file); returns the shard's path (``init`` replaces init.safetensors)."""
    def write(d: Path) -> Path:
        good = torch.zeros(rows, NF_SPEC.num_params)
        store.write_header(d, NF_SPEC, torch.zeros(NF_SPEC.num_params), {})
        store.write_shard(d, 0, good, pd.DataFrame({"id": [f"x{i}" for i in range(rows)], "source": "s",
                                                   "class_name": "c", "class_id": 0, "split": "train"}))
        store.finalize(d, 1)
        path = store.shard_params_path(d, 0)
        if isinstance(params, torch.Tensor):
            save_file({"params": params}, str(path))
        elif isinstance(params, bytes):
            path.write_bytes(params)
        if init is not None:
            (d / "init.safetensors").write_bytes(init)
            return d / "init.safetensors"
        return path
    return write


def _missing_shard(d: Path) -> Path:
    path = _neural_store()(d)
    path.unlink()
    return path


def _nerf_store(params: torch.Tensor | bytes, rows: int = 2) -> Callable[[Path], Path]:
    """A NeRF store of ``rows`` NeRFs in shard 0 holding ``params`` (tensor or raw bytes)."""
    def write(d: Path) -> Path:
        (d / "shards").mkdir(parents=True)
        (d / "arch.json").write_text(NERF_ARCH.to_json())
        (d / "fit.json").write_text(json.dumps({"classes": ["c"]}))
        pd.DataFrame({"id": [f"n{i}" for i in range(rows)], "class_name": "c", "class_id": 0, "split": "train",
                      "shard": 0, "row": range(rows)}).to_csv(d / "index.csv", index=False)
        path = d / "shards" / "shard_00000.safetensors"
        if isinstance(params, bytes):
            path.write_bytes(params)
        else:
            save_file({"params": params}, str(path))
        return path
    return write


def _prepared(fields: bytes | None = None) -> Callable[[Path], Path]:
    """A prepared dataset of 2 occupancy items whose fields.safetensors is replaced by ``fields``."""
    def write(d: Path) -> Path:
        (d / "meta.json").write_text(json.dumps({"kind": "occupancy"}))
        pd.DataFrame({"id": ["a", "b"], "source": "s", "class_name": "c", "class_id": 0,
                      "split": "train"}).to_csv(d / "index.csv", index=False)
        path = d / "fields.safetensors"
        path.write_bytes(fields if fields is not None else _safetensors_bytes(voxels=torch.zeros(2, 4, 4, 4)))
        return path
    return write


def _safetensors_bytes(**tensors: torch.Tensor) -> bytes:
    from safetensors.torch import save
    return save(tensors)


def _npy(name: str, array: np.ndarray, cut: int = 0, allow_pickle: bool = False) -> Callable[[Path], Path]:
    def write(d: Path) -> Path:
        np.save(d / name, array, allow_pickle=allow_pickle)
        if cut:
            (d / name).write_bytes((d / name).read_bytes()[:-cut])
        return d / name
    return write


def _h5(labels: list[int] | None = None, data: bytes | None = None) -> Callable[[Path], Path]:
    import h5py

    def write(d: Path) -> Path:
        path = d / "ply_data_train0.h5"
        (d / "shape_names.txt").write_text("a\nb\n")
        if data is not None:
            path.write_bytes(data)
            return path
        with h5py.File(path, "w") as f:
            f["data"] = np.random.default_rng(0).normal(size=(3, 16, 3)).astype(np.float32)
            f["label"] = np.array(labels or [0, 1, 0], dtype=np.uint8)[:, None]
        return path
    return write


def _checkpoint(kind: str) -> Callable[[Path], Path]:
    """An encoder checkpoint: trained for another NF layout, a pickle, or another kind of model file."""
    def write(d: Path) -> Path:
        from nf2vec_core.decoders.implicit import ImplicitDecoderConfig
        from nf2vec_core.encoders.rows import RowEncoderConfig, num_rows
        path = d / "best.safetensors"
        if kind == "pickle":
            torch.save({"meta": {}, "encoder": {}}, path)
            return path
        if kind == "classifier":
            save_tree(path, {"state_dict": {"w": torch.zeros(2)}, "config": {}})
            return path
        spec = NF_SPEC if kind == "good" else ArchSpec("siren", hidden=16, depth=2)   # other: not NF_SPEC
        enc, dec = RowEncoderConfig(hidden=(8,), embed_dim=8), ImplicitDecoderConfig(hidden=8, layers=1)
        meta = {"spec": spec.to_json(), "field_kind": "occupancy", "in_features": spec.hidden,
                "num_rows": num_rows(spec, enc), "in_dim": 3, "out_dim": 1, "encoder": enc.to_dict(),
                "decoder": dec.to_dict()}
        from nf2vec_core.train.checkpoint import build_models
        e, m = build_models(meta)
        save_tree(path, {"meta": meta, "encoder": e.state_dict(), "decoder": m.state_dict(), "epoch": 1})
        return path
    return write


_NAN_PARAMS = torch.zeros(3, NF_SPEC.num_params)
_NAN_PARAMS[1, 2] = float("nan")

# ------------------------------------------------------------------ the corpus: name -> (kind, writer, fragment)
CORPUS: dict[str, tuple[str, Callable[[Path], Path], str]] = {
    # OFF meshes
    "off_empty": ("mesh", _text("a.off", ""), "empty file"),
    "off_comments_only": ("mesh", _text("a.off", "# nothing\n\n"), "empty file"),
    "off_garbage": ("mesh", _bytes("a.off", GARBAGE), "not a text file"),
    "off_no_header": ("mesh", _text("a.off", CUBE_OFF[4:]), "not an OFF file"),
    "off_obj_content": ("mesh", _text("a.off", CUBE_OBJ), "not an OFF file"),
    "off_bad_counts": ("mesh", _text("a.off", "OFF\neight 6 0\n"), "bad element counts"),
    "off_zero_counts": ("mesh", _text("a.off", "OFF\n0 0 0\n"), "empty mesh"),
    "off_truncated": ("mesh", _text("a.off", CUBE_OFF[:40]), "truncated"),
    "off_more_lines_than_counts": ("mesh", _text("a.off", CUBE_OFF.replace("8 6 0", "8 5 0")),
                                   "wrong element counts"),
    "off_letters": ("mesh", _text("a.off", CUBE_OFF.replace("1 1 0", "1 x 0")), "malformed vertex"),
    "off_nan": ("mesh", _text("a.off", CUBE_OFF.replace("1 1 1", "nan 1 1")), "NaN"),
    "off_inf": ("mesh", _text("a.off", CUBE_OFF.replace("1 1 1", "1 inf 1")), "NaN/inf"),
    "off_index_out_of_range": ("mesh", _text("a.off", CUBE_OFF.replace("4 0 3 2 1", "4 0 3 2 9")), "out of range"),
    "off_short_face": ("mesh", _text("a.off", CUBE_OFF.replace("4 0 3 2 1", "4 0 3 2")), "fewer indices"),
    "off_two_corner_face": ("mesh", _text("a.off", CUBE_OFF.replace("4 0 3 2 1", "2 0 3")), "fewer than 3 corners"),
    "off_zero_area": ("mesh", _text("a.off", "OFF\n4 2 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 0 1\n3 2 2 2\n"),
                      "every face has zero area"),
    "off_collinear": ("mesh", _text("a.off", "OFF\n4 2 0\n0 0 0\n1 0 0\n2 0 0\n3 0 0\n3 0 1 2\n3 1 2 3\n"),
                      "collinear"),
    "off_three_vertices": ("mesh", _text("a.off", "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n"), "only 3 vertices"),
    "off_zero_volume": ("solid", _text("a.off", SQUARE_OFF), "zero-volume mesh"),
    # OBJ meshes
    "obj_empty": ("mesh", _text("a.obj", ""), "empty file"),
    "obj_garbage": ("mesh", _bytes("a.obj", GARBAGE), "no triangles"),
    "obj_off_content": ("mesh", _text("a.obj", CUBE_OFF), "no triangles"),
    "obj_vertices_only": ("mesh", _text("a.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\n"), "no triangles"),
    "obj_nan": ("mesh", _text("a.obj", CUBE_OBJ.replace("v 1 1 1", "v nan 1 1")), "NaN"),
    "obj_index_out_of_range": ("mesh", _text("a.obj", CUBE_OBJ.replace("f 1 4 3 2", "f 1 4 3 99")),
                               "unreadable mesh"),
    "obj_collinear": ("mesh", _text("a.obj", "v 0 0 0\nv 1 0 0\nv 2 0 0\nv 3 0 0\nf 1 2 3\nf 2 3 4\n"), "collinear"),
    "obj_zero_volume": ("solid", _text("a.obj", "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3\nf 1 3 4\n"),
                        "zero-volume mesh"),
    # PLY meshes and point clouds
    "ply_empty": ("points", _bytes("a.ply", b""), "empty file"),
    "ply_garbage": ("points", _bytes("a.ply", GARBAGE), "unreadable point cloud"),
    "ply_truncated_binary": ("mesh", _bytes("a.ply", _box_ply("binary")[:-40]), "unreadable mesh"),
    "ply_truncated_ascii": ("mesh", _bytes("a.ply", _box_ply("ascii")[:-60]), "truncated"),
    "ply_header_only": ("points", _bytes("a.ply", _ply_bytes(np.eye(3), encoding="ascii").split(b"end_header")[0]
                                         + b"end_header\n"), "truncated"),
    "ply_fewer_vertices_than_header": ("points", _bytes("a.ply", _box_ply("ascii").replace(b"element vertex 8",
                                                                                          b"element vertex 10")),
                                       "truncated"),
    "ply_more_lines_than_header": ("mesh", _bytes("a.ply", _box_ply("ascii").replace(b"element face 12",
                                                                                    b"element face 11")),
                                   "wrong element counts"),
    "ply_nan": ("points", _bytes("a.ply", _ply_bytes(np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [np.nan, 0, 1.0]]))),
                "NaN"),
    "ply_coincident": ("points", _bytes("a.ply", _ply_bytes(np.ones((10, 3)))), "coincide"),
    "ply_collinear": ("points", _bytes("a.ply", _ply_bytes(np.outer(np.arange(10.0), [1, 2, 3]))), "collinear"),
    "ply_mesh_zero_volume": ("solid", _bytes("a.ply", _ply_bytes(np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0.0]]),
                                                                 np.array([[0, 1, 2], [0, 2, 3]]))),
                             "zero-volume mesh"),
    # point clouds: NPY, TXT (modelnet40_normal_resampled), the HDF5 release
    "npy_garbage": ("cloud", _bytes("a.npy", GARBAGE), "not a .npy file"),
    "npy_empty": ("cloud", _bytes("a.npy", b""), "empty file"),
    "npy_pickle": ("cloud", _npy("a.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True), "unreadable .npy"),
    "npy_truncated": ("cloud", _npy("a.npy", np.ones((50, 3), np.float32), cut=40), "unreadable .npy"),
    "npy_wrong_columns": ("cloud", _npy("a.npy", np.zeros((10, 4), np.float32)), "expected [N,3]"),
    "npy_nan": ("cloud", _npy("a.npy", np.array([[0, 0, 0], [1, 0, 0], [np.nan, 1, 0]], np.float32)), "NaN/inf"),
    "txt_empty": ("cloud", _text("a.txt", ""), "empty file"),
    "txt_five_columns": ("cloud", _text("a.txt", "1,2,3,4,5\n"), "expected [N,3]"),
    "txt_nan": ("cloud", _text("a.txt", "0 0 0\n1 nan 0\n0 1 0\n"), "NaN/inf"),
    "h5_garbage": ("h5", _h5(data=GARBAGE), "unreadable HDF5 file"),
    "h5_label_out_of_range": ("h5", _h5(labels=[0, 1, 7]), "out of range"),
    # model files
    "checkpoint_other_architecture": ("model", _checkpoint("other"), "architecture"),
    "checkpoint_pickle": ("model", _checkpoint("pickle"), "pickled .pt checkpoints are refused"),
    "checkpoint_of_a_classifier": ("model", _checkpoint("classifier"), "not an nf2vec checkpoint"),
    # Blender views: transforms.json and PNGs
    "views_no_transforms": ("views", lambda d: d / "transforms_train.json", "missing camera file"),
    "views_transforms_empty": ("views", _transforms_text(""), "not valid JSON"),
    "views_transforms_not_json": ("views", _transforms_text('{"camera_angle_x": 0.7, "frames": ['), "not valid JSON"),
    "views_transforms_no_frames": ("views", _views(lambda t: t.pop("frames")), "'frames'"),
    "views_transforms_empty_frames": ("views", _views(lambda t: t.update(frames=[])), "'frames'"),
    "views_transforms_list": ("views", _transforms_text("[]"), "JSON object"),
    "views_no_fov": ("views", _views(lambda t: t.pop("camera_angle_x")), "camera_angle_x"),
    "views_nan_pose": ("views", _views(lambda t: t["frames"][0]["transform_matrix"][0].__setitem__(3, float("nan"))),
                       "finite 4x4"),
    "views_png_garbage": ("views", _views(png=GARBAGE, name_png=True), "corrupt image"),
    "views_png_truncated": ("views", _views(png=_png_bytes()[:60], name_png=True), "corrupt image"),
    "views_png_empty": ("views", _views(png=b"", name_png=True), "corrupt image"),
    "views_png_missing": ("views", _no_png, "missing image file"),
    "views_png_other_size": ("views", _views(png=_png_bytes(5, 8), name_png=True), "the first view is 8x8"),
    # neural-dataset store shards
    "store_shard_wrong_width": ("neural", _neural_store(torch.zeros(3, NF_SPEC.num_params + 1)), "wrong architecture"),
    "store_shard_1d": ("neural", _neural_store(torch.zeros(3 * NF_SPEC.num_params)), "wrong architecture"),
    "store_shard_too_few_rows": ("neural", _neural_store(torch.zeros(2, NF_SPEC.num_params)), "wrong row count"),
    "store_shard_garbage": ("neural", _neural_store(GARBAGE), "corrupt parameter shard"),
    "store_shard_empty": ("neural", _neural_store(b""), "corrupt parameter shard"),
    "store_shard_truncated": ("neural", _neural_store(_safetensors_bytes(params=torch.zeros(3, NF_SPEC.num_params))[:-8]),
                              "corrupt parameter shard"),
    "store_shard_wrong_key": ("neural", _neural_store(_safetensors_bytes(theta=torch.zeros(3, NF_SPEC.num_params))),
                              "corrupt parameter shard"),
    "store_shard_nan": ("neural", _neural_store(_NAN_PARAMS), "NaN/inf"),
    "store_shard_missing": ("neural", _missing_shard, "parameter shard missing"),
    "store_init_garbage": ("neural", _neural_store(init=GARBAGE), "corrupt initialisation file"),
    "nerf_shard_wrong_width": ("nerf", _nerf_store(torch.zeros(2, NERF_ARCH.num_params - 1)), "wrong architecture"),
    "nerf_shard_wrong_rows": ("nerf", _nerf_store(torch.zeros(3, NERF_ARCH.num_params)), "wrong row count"),
    "nerf_shard_garbage": ("nerf", _nerf_store(GARBAGE), "corrupt parameter shard"),
    "prepared_fields_garbage": ("prepared", _prepared(GARBAGE), "corrupt prepared fields file"),
    "prepared_fields_truncated": ("prepared", _prepared(_safetensors_bytes(voxels=torch.zeros(2, 4, 4, 4))[:-9]),
                                  "corrupt prepared fields file"),
    "nerf_shard_nan": ("nerf", _nerf_store(torch.full((2, NERF_ARCH.num_params), float("inf"))), "NaN/Inf"),
}

GOOD: dict[str, Callable[[Path], Path]] = {
    "cloud": _npy("a.npy", np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)),
    "h5": _h5(),
    "model": _checkpoint("good"),
    "mesh": _text("a.off", CUBE_OFF),
    "solid": _text("a.obj", CUBE_OBJ),
    "points": _bytes("a.ply", _ply_bytes(np.random.default_rng(0).normal(size=(20, 3)))),
    "views": _views(png=_png_bytes(), name_png=True),
    "neural": _neural_store(),
    "nerf": _nerf_store(torch.zeros(2, NERF_ARCH.num_params)),
    "prepared": _prepared(),
}


def build_good(kind: str, d: Path) -> Path:
    """A valid input of ``kind`` under ``d`` (the reader must accept it)."""
    return GOOD[kind](d)
