import json
import math

import numpy as np
import pytest
import torch

from nf2vec_core.errors import BadInputError, ConfigError
from nf2vec_core.nerf.blender import (ViewSet, background_color, focal_from_fov, fov_from_focal, read_blender,
                                      write_blender)
from nf2vec_core.nerf.rays import ray_aabb


@pytest.fixture(scope="module")
def lego_root(request):
    shared = request.getfixturevalue("shared_data")
    root = shared / "nerf-lego-200"
    if not (root / "transforms_train.json").is_file():
        pytest.skip(f"lego scene not found at {root}")
    return root


@pytest.fixture(scope="module")
def lego_train(lego_root):
    return read_blender(lego_root, "train")


def test_lego_train_split(lego_train, lego_root):
    vs = lego_train
    assert (vs.n_views, vs.height, vs.width) == (100, 200, 200)
    fov = json.loads((lego_root / "transforms_train.json").read_text())["camera_angle_x"]
    assert vs.focal == pytest.approx(100.0 / math.tan(fov / 2))
    assert vs.camera_angle_x == pytest.approx(fov)
    rot = vs.c2w[:, :3, :3]
    assert torch.allclose(rot @ rot.transpose(1, 2), torch.eye(3).expand(100, 3, 3), atol=1e-4)
    assert torch.allclose(torch.linalg.det(rot), torch.ones(100), atol=1e-4)
    assert 0.05 < float((vs.alpha > 0.5).float().mean()) < 0.6          # object and background both present
    bg = vs.alpha == 0
    assert torch.all(vs.rgb[bg] == 1.0)                                  # composited over white
    assert vs.rgb.min() >= 0 and vs.rgb.max() <= 1
    assert all(f.endswith(".png") for f in vs.files) and len(vs.files) == 100


def test_lego_cameras_look_at_the_object(lego_train):
    """OpenGL convention: the camera looks along -z; every centre ray passes near the origin and
    the object (alpha) sits where the centre ray meets the scene box."""
    c2w = lego_train.c2w
    eye, fwd = c2w[:, :3, 3], -c2w[:, :3, 2]
    to_origin = torch.nn.functional.normalize(-eye, dim=-1)
    assert float((fwd * to_origin).sum(-1).min()) > 0.99
    t0, t1, hit = ray_aabb(eye, fwd, (-1.5, -1.5, -1.5, 1.5, 1.5, 1.5))
    assert bool(hit.all())
    assert float(lego_train.alpha[:, 95:105, 95:105].mean()) > 0.5      # the object is at the image centre
    assert bool((c2w[:, 2, 1] > 0).all())                                 # camera +y is world-up (+z): upright images


def test_lego_val_and_backgrounds(lego_root):
    white = read_blender(lego_root, "val", max_views=5)
    black = read_blender(lego_root, "val", max_views=5, background="black")
    assert white.n_views == 5 and white.files == black.files
    assert torch.allclose(white.premultiplied, black.premultiplied, atol=1e-6)
    assert torch.all(black.rgb[black.alpha == 0] == 0.0)
    grey = white.on_background(torch.tensor([0.5, 0.5, 0.5]))
    assert torch.allclose(grey[white.alpha == 0], torch.full((3,), 0.5))


def test_lego_downscale_is_area_averaging(lego_root):
    full = read_blender(lego_root, "train", max_views=3)
    half = read_blender(lego_root, "train", max_views=3, downscale=2)
    assert (half.height, half.width) == (100, 100)
    assert half.focal == pytest.approx(full.focal / 2)
    assert torch.allclose(half.alpha, full.alpha.view(3, 100, 2, 100, 2).mean((2, 4)), atol=1e-6)
    assert torch.allclose(half.premultiplied, full.premultiplied.view(3, 100, 2, 100, 2, 3).mean((2, 4)), atol=1e-5)


def _scene(tmp_path, v=3, h=6, w=8, seed=0):
    rng = np.random.default_rng(seed)
    rgba = rng.random((v, h, w, 4)).astype(np.float32)
    rgba[0, 0, 0, 3] = 0.0
    c2w = np.tile(np.eye(4), (v, 1, 1))
    c2w[:, 2, 3] = np.arange(v) + 3.0
    write_blender(tmp_path, "train", rgba, c2w, 0.7, extra={"note": "test"})
    return rgba, c2w


def test_write_read_round_trip(tmp_path):
    rgba, c2w = _scene(tmp_path)
    vs = read_blender(tmp_path, "train", background="black")
    q = np.rint(rgba * 255) / 255
    assert np.allclose(vs.alpha.numpy(), q[..., 3], atol=1e-6)
    assert np.allclose(vs.rgb.numpy(), q[..., :3] * q[..., 3:], atol=1e-6)
    assert np.allclose(vs.c2w.numpy(), c2w)
    assert vs.focal == pytest.approx(focal_from_fov(0.7, 8))
    assert fov_from_focal(vs.focal, 8) == pytest.approx(0.7)
    sub = vs.select([2, 0])
    assert sub.n_views == 2 and torch.equal(sub.rgb[1], vs.rgb[0])


def test_missing_and_corrupt_files_name_the_file(tmp_path):
    with pytest.raises(BadInputError, match="transforms_train.json"):
        read_blender(tmp_path, "train")
    _scene(tmp_path)
    (tmp_path / "train" / "r_1.png").write_bytes(b"not a png at all")
    with pytest.raises(BadInputError, match=r"r_1\.png.*corrupt"):
        read_blender(tmp_path, "train")
    (tmp_path / "train" / "r_1.png").unlink()
    with pytest.raises(BadInputError, match=r"r_1\.png.*missing"):
        read_blender(tmp_path, "train")


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("camera_angle_x"), "camera_angle_x"),
    (lambda d: d.update(camera_angle_x=4.0), "camera_angle_x"),
    (lambda d: d.update(frames=[]), "frames"),
    (lambda d: d["frames"][1].update(transform_matrix=[[1, 0, 0], [0, 1, 0]]), r"frames\[1\]"),
    (lambda d: d["frames"][0]["transform_matrix"][0].__setitem__(0, 2.0), "orthonormal"),
    (lambda d: d["frames"][2].pop("file_path"), r"frames\[2\]"),
])
def test_bad_transforms_are_rejected(tmp_path, mutate, message):
    _scene(tmp_path)
    path = tmp_path / "transforms_train.json"
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(BadInputError, match=message) as info:
        read_blender(tmp_path, "train")
    assert info.value.path == str(path)


def test_invalid_json_and_inconsistent_sizes(tmp_path):
    _scene(tmp_path)
    (tmp_path / "transforms_train.json").write_text("{broken")
    with pytest.raises(BadInputError, match="not valid JSON"):
        read_blender(tmp_path, "train")
    rgba = np.random.default_rng(0).random((2, 6, 8, 4))
    write_blender(tmp_path, "train", rgba, np.tile(np.eye(4), (2, 1, 1)), 0.7)
    from PIL import Image
    Image.fromarray(np.zeros((5, 8, 4), np.uint8)).save(tmp_path / "train" / "r_1.png")
    with pytest.raises(BadInputError, match=r"r_1\.png.*first view"):
        read_blender(tmp_path, "train")


def test_config_errors():
    with pytest.raises(ConfigError):
        background_color("grey")
    with pytest.raises(ConfigError):
        background_color([0.5, 2.0, 0.0])
    assert torch.equal(background_color([0, 0.5, 1]), torch.tensor([0.0, 0.5, 1.0]))
    with pytest.raises(ConfigError, match="downscale"):
        read_blender("/nonexistent", downscale=0)
    with pytest.raises(ValueError):
        ViewSet(torch.zeros(2, 4, 4, 3), torch.zeros(2, 4, 5), torch.zeros(2, 4, 4), 1.0, torch.zeros(3))
