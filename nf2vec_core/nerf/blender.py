"""Reader and writer of the Blender / NeRF-synthetic multi-view layout.

Layout (Mildenhall et al. 2020, "nerf_synthetic")::

    root/transforms_{split}.json   {"camera_angle_x": fov_x (rad),
                                    "frames": [{"file_path": "./train/r_0",
                                                "transform_matrix": 4x4 camera-to-world}, ...]}
    root/{split}/r_0.png ...       RGBA (straight, i.e. not premultiplied, alpha), 8-bit

Conventions
-----------
* ``transform_matrix`` maps camera to world coordinates with the OpenGL / Blender camera axes:
  ``+x`` right, ``+y`` up, the camera looks along ``-z`` (see :mod:`.rays`).
* ``file_path`` is relative to ``root`` and may omit the extension (``.png`` is then appended).
* The focal length in pixels is ``0.5 * W / tan(0.5 * camera_angle_x)``, square pixels, principal
  point at the image centre.
* Images are returned composited over a background colour ``rgb = c * a + bg * (1 - a)`` (``c`` the
  straight colour, ``a`` the alpha), with the alpha kept alongside so that the foreground mask and
  other backgrounds (:meth:`ViewSet.on_background`) stay available.
* ``downscale = f`` resizes to ``(H // f, W // f)`` by area averaging of the *premultiplied* colour
  and the alpha (no dark fringes at silhouettes) and scales the focal length by the width ratio.

Every unreadable input raises :class:`~nf2vec_core.errors.BadInputError` naming the file.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from ..errors import BadInputError, ConfigError

__all__ = ["ViewSet", "background_color", "focal_from_fov", "fov_from_focal", "read_blender",
           "write_blender", "transforms_path"]

BACKGROUNDS = {"white": (1.0, 1.0, 1.0), "black": (0.0, 0.0, 0.0)}


def background_color(spec: str | Sequence[float]) -> torch.Tensor:
    """A background colour ``[3]`` from ``"white"``, ``"black"`` or three floats in ``[0, 1]``."""
    if isinstance(spec, str):
        if spec not in BACKGROUNDS:
            raise ConfigError(f"background: unknown colour {spec!r}; expected 'white', 'black' or [r, g, b]")
        return torch.tensor(BACKGROUNDS[spec], dtype=torch.float32)
    vals = [float(v) for v in spec]
    if len(vals) != 3 or not all(0.0 <= v <= 1.0 for v in vals):
        raise ConfigError(f"background: expected three values in [0, 1], got {list(spec)}")
    return torch.tensor(vals, dtype=torch.float32)


def focal_from_fov(camera_angle_x: float, width: int) -> float:
    """Focal length in pixels of a pinhole camera with horizontal field of view ``camera_angle_x``."""
    return 0.5 * float(width) / math.tan(0.5 * float(camera_angle_x))


def fov_from_focal(focal: float, width: int) -> float:
    """Horizontal field of view (radians) of a focal length in pixels."""
    return 2.0 * math.atan(0.5 * float(width) / float(focal))


def transforms_path(root: str | Path, split: str) -> Path:
    return Path(root) / f"transforms_{split}.json"


@dataclass
class ViewSet:
    """The views of one scene split (all tensors on one device, float32).

    ``rgb [V,H,W,3]`` composited over ``background [3]``; ``alpha [V,H,W]``; ``c2w [V,4,4]``
    camera-to-world (OpenGL axes); ``focal`` in pixels at this resolution; ``files`` the PNGs read.
    """

    rgb: torch.Tensor
    alpha: torch.Tensor
    c2w: torch.Tensor
    focal: float
    background: torch.Tensor
    files: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        v, h, w, c = self.rgb.shape
        if c != 3 or self.alpha.shape != (v, h, w) or self.c2w.shape != (v, 4, 4):
            raise ValueError(f"ViewSet: inconsistent shapes rgb {tuple(self.rgb.shape)}, alpha "
                             f"{tuple(self.alpha.shape)}, c2w {tuple(self.c2w.shape)}")

    @property
    def n_views(self) -> int:
        return self.rgb.shape[0]

    @property
    def height(self) -> int:
        return self.rgb.shape[1]

    @property
    def width(self) -> int:
        return self.rgb.shape[2]

    @property
    def camera_angle_x(self) -> float:
        return fov_from_focal(self.focal, self.width)

    @property
    def premultiplied(self) -> torch.Tensor:
        """Premultiplied colour ``c * a`` ``[V,H,W,3]`` (the foreground's own contribution)."""
        return self.rgb - self.background.to(self.rgb) * (1.0 - self.alpha.unsqueeze(-1))

    def on_background(self, bg: torch.Tensor) -> torch.Tensor:
        """The views composited over another background ``bg`` (``[3]`` or broadcastable)."""
        return self.premultiplied + bg.to(self.rgb) * (1.0 - self.alpha.unsqueeze(-1))

    def select(self, index: Sequence[int] | slice) -> "ViewSet":
        """A subset of the views."""
        idx = list(range(self.n_views))[index] if isinstance(index, slice) else list(index)
        t = torch.as_tensor(idx, dtype=torch.long)
        files = tuple(self.files[i] for i in idx) if self.files else ()
        return ViewSet(self.rgb[t], self.alpha[t], self.c2w[t], self.focal, self.background, files)

    def to(self, device: torch.device | str) -> "ViewSet":
        return ViewSet(self.rgb.to(device), self.alpha.to(device), self.c2w.to(device), self.focal,
                       self.background.to(device), self.files)


# ----------------------------------------------------------------------------------- reading
def _load_json(path: Path) -> dict:
    if not path.is_file():
        raise BadInputError(path, "missing camera file (expected the Blender layout: "
                                  "transforms_{split}.json beside the image folders)")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(path, f"not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise BadInputError(path, "expected a JSON object at the top level")
    return data


def _camera_angle(data: dict, path: Path) -> float:
    if "camera_angle_x" not in data:
        raise BadInputError(path, "missing key 'camera_angle_x' (horizontal field of view, radians)")
    try:
        fov = float(data["camera_angle_x"])
    except (TypeError, ValueError):
        raise BadInputError(path, f"camera_angle_x is not a number: {data['camera_angle_x']!r}") from None
    if not (0.0 < fov < math.pi):
        raise BadInputError(path, f"camera_angle_x must be in (0, pi), got {fov}")
    return fov


def _pose(frame: object, i: int, path: Path) -> np.ndarray:
    if not isinstance(frame, dict) or "transform_matrix" not in frame or "file_path" not in frame:
        raise BadInputError(path, f"frames[{i}] needs 'file_path' and 'transform_matrix'")
    try:
        m = np.asarray(frame["transform_matrix"], dtype=np.float64)
    except (TypeError, ValueError):
        raise BadInputError(path, f"frames[{i}].transform_matrix is not a numeric 4x4 matrix") from None
    if m.shape != (4, 4) or not np.all(np.isfinite(m)):
        raise BadInputError(path, f"frames[{i}].transform_matrix must be a finite 4x4 matrix, got shape {m.shape}")
    if not np.allclose(m[3], (0.0, 0.0, 0.0, 1.0), atol=1e-4):
        raise BadInputError(path, f"frames[{i}].transform_matrix: last row must be [0, 0, 0, 1], got {m[3].tolist()}")
    rot = m[:3, :3]
    if abs(abs(np.linalg.det(rot)) - 1.0) > 1e-2:
        raise BadInputError(path, f"frames[{i}].transform_matrix: rotation part is not orthonormal "
                                  f"(det {np.linalg.det(rot):.4f})")
    return m


def _image_file(root: Path, file_path: str) -> Path:
    p = root / file_path
    if p.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        p = p.with_name(p.name + ".png")
    return p


def _read_rgba(path: Path) -> np.ndarray:
    """RGBA ``[H,W,4]`` float32 in ``[0, 1]`` (straight alpha; opaque when the file has none)."""
    if not path.is_file():
        raise BadInputError(path, "missing image file listed in the transforms file")
    try:
        with Image.open(path) as im:
            im.load()
            rgba = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadInputError(path, f"unreadable or corrupt image ({exc})") from exc
    return rgba


def _downscale(rgba: torch.Tensor, factor: int) -> torch.Tensor:
    """Area-average ``[V,H,W,4]`` straight RGBA by ``factor``; returns premultiplied RGB + alpha."""
    pre = torch.cat([rgba[..., :3] * rgba[..., 3:], rgba[..., 3:]], dim=-1)
    if factor == 1:
        return pre
    v, h, w, _ = pre.shape
    out = F.interpolate(pre.permute(0, 3, 1, 2), size=(h // factor, w // factor), mode="area")
    return out.permute(0, 2, 3, 1).contiguous()


def read_blender(root: str | Path, split: str = "train", *, downscale: int = 1,
                 background: str | Sequence[float] = "white", max_views: int | None = None) -> ViewSet:
    """Read one split of a Blender-layout scene.

    Args:
        root: scene folder holding ``transforms_{split}.json``.
        split: ``train``, ``val``, ``test`` (any name with a transforms file).
        downscale: integer factor ``>= 1``; the output is ``(H // f, W // f)``.
        background: colour the RGBA views are composited over.
        max_views: read only the first ``max_views`` frames (None: all).
    Returns:
        A :class:`ViewSet` (float32, CPU).
    Raises:
        BadInputError: missing/corrupt transforms file or image, bad pose, inconsistent sizes.
        ConfigError: bad ``downscale``, ``background`` or ``max_views``.
    """
    root = Path(root)
    if int(downscale) != downscale or downscale < 1:
        raise ConfigError(f"downscale: expected an integer >= 1, got {downscale}")
    if max_views is not None and max_views < 1:
        raise ConfigError(f"max_views: expected >= 1 or null, got {max_views}")
    bg = background_color(background)
    tpath = transforms_path(root, split)
    data = _load_json(tpath)
    fov = _camera_angle(data, tpath)
    frames = data.get("frames")
    if not isinstance(frames, list) or not frames:
        raise BadInputError(tpath, "missing or empty 'frames' list")
    if max_views is not None:
        frames = frames[:max_views]
    poses, images, files = [], [], []
    size: tuple[int, int] | None = None
    for i, fr in enumerate(frames):
        pose = _pose(fr, i, tpath)
        ipath = _image_file(root, str(fr["file_path"]))
        rgba = _read_rgba(ipath)
        if size is None:
            size = rgba.shape[:2]
            if min(size) < downscale:
                raise BadInputError(ipath, f"image {size[1]}x{size[0]} is smaller than the downscale factor {downscale}")
        elif rgba.shape[:2] != size:
            raise BadInputError(ipath, f"image is {rgba.shape[1]}x{rgba.shape[0]}, the first view is {size[1]}x{size[0]}")
        poses.append(pose)
        images.append(rgba)
        files.append(str(ipath))
    assert size is not None
    pre = _downscale(torch.from_numpy(np.stack(images)), int(downscale))
    alpha = pre[..., 3].clamp(0.0, 1.0)
    rgb = (pre[..., :3] + bg * (1.0 - alpha.unsqueeze(-1))).clamp(0.0, 1.0)
    focal = focal_from_fov(fov, size[1]) * (pre.shape[2] / size[1])
    return ViewSet(rgb, alpha, torch.from_numpy(np.stack(poses)).float(), focal, bg, tuple(files))


# ----------------------------------------------------------------------------------- writing
def write_blender(root: str | Path, split: str, rgba: np.ndarray | torch.Tensor, c2w: np.ndarray | torch.Tensor,
                  camera_angle_x: float, *, extra: dict | None = None) -> Path:
    """Write views in the Blender layout (8-bit RGBA PNGs ``{split}/r_{i}.png`` + transforms file).

    ``rgba`` is ``[V,H,W,4]`` straight-alpha colour in ``[0, 1]`` (float) or ``uint8``; ``c2w`` is
    ``[V,4,4]`` (OpenGL axes). ``extra`` keys are added to the top level of the JSON (provenance).
    Returns the transforms file path.
    """
    root = Path(root)
    arr = rgba.detach().cpu().numpy() if isinstance(rgba, torch.Tensor) else np.asarray(rgba)
    poses = c2w.detach().cpu().numpy() if isinstance(c2w, torch.Tensor) else np.asarray(c2w)
    if arr.ndim != 4 or arr.shape[-1] != 4 or poses.shape != (arr.shape[0], 4, 4):
        raise ValueError(f"write_blender: expected rgba [V,H,W,4] and c2w [V,4,4], got {arr.shape} and {poses.shape}")
    if arr.dtype != np.uint8:
        arr = np.clip(np.rint(np.asarray(arr, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)
    (root / split).mkdir(parents=True, exist_ok=True)
    frames = []
    for i in range(arr.shape[0]):
        rel = f"./{split}/r_{i}"
        Image.fromarray(np.ascontiguousarray(arr[i])).save(root / split / f"r_{i}.png")
        frames.append({"file_path": rel, "transform_matrix": poses[i].astype(np.float64).tolist()})
    data = {"camera_angle_x": float(camera_angle_x), **(extra or {}), "frames": frames}
    path = transforms_path(root, split)
    path.write_text(json.dumps(data, indent=1))
    return path
