import numpy as np
import pytest
import torch
import trimesh

from nf2vec_core.data.procedural import make_shape, shape_mesh, shape_sdf
from nf2vec_core.nerf.blender import read_blender
from nf2vec_core.nerf.rays import camera_rays
from nf2vec_core.nerf.synthetic_views import (OBJECT_AMBIENT, PALETTE, ViewRenderConfig, face_labels, part_colors,
                                              rasterize, render_dataset, render_mesh, render_shape, shape_ambient)


PALETTE_ARRAY = np.array(PALETTE, dtype=np.float64)


def _ray_cast(vertices, faces, origins, dirs):
    """Brute-force Moller-Trumbore: nearest hit distance per ray (inf for none), float64."""
    tri = vertices[faces]                                       # [F, 3, 3]
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    p = torch.linalg.cross(dirs[:, None], e2[None], dim=-1)     # [R, F, 3]
    det = (e1[None] * p).sum(-1)
    inv = 1.0 / torch.where(det.abs() < 1e-12, torch.full_like(det, 1e-12), det)
    s = origins[:, None] - tri[None, :, 0]
    u = (s * p).sum(-1) * inv
    q = torch.linalg.cross(s, e1[None].expand_as(s), dim=-1)
    v = (dirs[:, None] * q).sum(-1) * inv
    t = (e2[None] * q).sum(-1) * inv
    ok = (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0) & (det.abs() > 1e-12)
    return torch.where(ok, t, torch.full_like(t, float("inf"))).amin(1)


def test_rasterizer_matches_brute_force_ray_casting():
    mesh = trimesh.creation.icosphere(subdivisions=2, radius=0.8)
    mesh.apply_transform(trimesh.transformations.rotation_matrix(0.3, [1, 1, 0]))
    mesh.apply_scale([1.0, 0.6, 1.2])
    verts = torch.from_numpy(np.array(mesh.vertices))
    faces = torch.from_numpy(np.array(mesh.faces))
    cfg = ViewRenderConfig(n_views=3, height=20, width=24, fov_deg=40, radius=3.0)
    c2w = cfg.poses("train").double()
    o, d = camera_rays(c2w, cfg.focal, cfg.height, cfg.width)
    agree, total = 0, 0
    for k in range(3):
        r = rasterize(verts, faces, c2w[k], cfg.focal, cfg.height, cfg.width)
        t = _ray_cast(verts, faces, o[k].reshape(-1, 3), d[k].reshape(-1, 3)).view(cfg.height, cfg.width)
        hit = torch.isfinite(t)
        agree += int(((r.face >= 0) == hit).sum())
        total += hit.numel()
        both = hit & (r.face >= 0)
        cos = (d[k] @ -c2w[k, :3, 2])                       # z-depth = ray distance * cos(angle to axis)
        assert torch.allclose(r.depth[both].double(), (t * cos)[both], atol=1e-5)
        assert bool(torch.isinf(r.depth[r.face < 0]).all())
        # the barycentrics reconstruct the hit point
        fid = r.face[both]
        pts = (verts[faces[fid]] * r.bary[both].double().unsqueeze(-1)).sum(1)
        expect = o[k][both] + d[k][both] * t[both].unsqueeze(-1)
        assert torch.allclose(pts, expect, atol=1e-4)
    assert agree == total        # pixel centres on an exact edge are measure-zero here


def test_sphere_silhouette_and_coverage_alpha():
    mesh = trimesh.creation.icosphere(subdivisions=4, radius=1.0)
    verts, faces = torch.from_numpy(np.array(mesh.vertices)), torch.from_numpy(np.array(mesh.faces))
    c2w = torch.from_numpy(np.array(np.eye(4))).float()[None]
    c2w[0, 2, 3] = 4.0
    h = w = 32
    f = 32.0
    colors = torch.full((len(faces), 3), 0.5)
    rgba = render_mesh(verts, faces, colors, c2w, f, h, w, supersample=4)[0]
    _, d = camera_rays(c2w[0], f, h, w)
    # analytic: the ray hits the unit sphere iff its distance to the centre is < 1
    o = torch.tensor([0.0, 0.0, 4.0])
    dist = torch.linalg.cross(d, (-o).expand_as(d), dim=-1).norm(dim=-1)
    foot = 4.0 / f * 0.75                    # half-diagonal of a pixel's footprint at the sphere (+ margin)
    inside, outside = dist < 0.99 - foot, dist > 1.0 + foot
    assert int(inside.sum()) > 100 and int(outside.sum()) > 100
    assert torch.all(rgba[..., 3][inside] == 1.0) and torch.all(rgba[..., 3][outside] == 0.0)
    edge = ~inside & ~outside
    assert float(rgba[..., 3][edge].min()) < 1.0 and float(rgba[..., 3][edge].max()) > 0.0   # anti-aliased
    assert torch.allclose(rgba[..., :3][rgba[..., 3] > 0], torch.tensor(0.5))               # straight colour


@pytest.fixture(scope="module")
def chair():
    return make_shape("chair", 11)


def test_render_shape_is_deterministic_with_part_colours(chair):
    cfg = ViewRenderConfig(n_views=6, n_val_views=2, height=32, width=32, supersample=1, shading="flat",
                           mesh_resolution=48)
    a = render_shape(chair, cfg)
    b = render_shape(chair, cfg)
    assert torch.equal(a.rgba, b.rgba) and torch.equal(a.c2w, b.c2w)
    assert a.rgba.shape == (6, 32, 32, 4)
    fg = a.rgba[..., 3] > 0
    assert torch.all(a.rgba[..., 3][fg] == 1.0)                                   # no supersampling: binary
    cols = torch.unique(a.rgba[..., :3][fg], dim=0)
    palette = torch.tensor(PALETTE[:4], dtype=torch.float32)
    assert all(bool(((palette - c).abs().max(1).values < 1e-6).any()) for c in cols)
    assert len(cols) >= 3                                                         # several parts visible
    val = render_shape(chair, cfg, "val")
    assert val.rgba.shape[0] == 2 and float(torch.cdist(val.c2w[:, :3, 3], a.c2w[:, :3, 3]).min()) > 0.1


def test_rendered_pixels_lie_on_the_shape_surface(chair):
    """Pose convention end to end: the camera rays of :mod:`rays` through covered pixels hit the
    analytic surface at the rasterised depth, and the pixel colour is its part colour."""
    cfg = ViewRenderConfig(n_views=4, height=24, width=24, supersample=1, shading="flat", mesh_resolution=64)
    views = render_shape(chair, cfg)
    o, d = camera_rays(views.c2w, cfg.focal, cfg.height, cfg.width)
    mesh = shape_mesh(chair, cfg.mesh_resolution)
    verts, faces = torch.from_numpy(np.array(mesh.vertices)), torch.from_numpy(np.array(mesh.faces))
    colors = part_colors(chair, cfg)
    for k in range(4):
        r = rasterize(verts, faces, views.c2w[k], cfg.focal, cfg.height, cfg.width)
        fg = views.rgba[k, ..., 3] > 0
        assert torch.equal(fg, r.face >= 0)
        cos = d[k] @ -views.c2w[k, :3, 2]
        pts = o[k][fg] + d[k][fg] * (r.depth[fg] / cos[fg]).unsqueeze(-1)
        sdf, lab = shape_sdf(chair, pts.double().numpy())
        assert np.abs(sdf).max() < 0.03                                            # within a grid step
        assert np.mean(np.all(np.isclose(views.rgba[k][fg][:, :3].numpy(), colors[lab], atol=1e-6), 1)) > 0.9


def test_face_labels_and_colour_jitter(chair):
    centers = np.array([[0.0, 0.0, 0.0]])
    assert face_labels(chair, centers).shape == (1,)
    plain = part_colors(chair, ViewRenderConfig())
    jit = part_colors(chair, ViewRenderConfig(color_jitter=0.2, seed=3))
    assert plain.shape == jit.shape == (4, 3)
    assert 0 < np.abs(plain - jit).max() <= 0.2
    assert np.array_equal(jit, part_colors(chair, ViewRenderConfig(color_jitter=0.2, seed=3)))


def test_render_dataset_writes_the_blender_layout(tmp_path, chair):
    cfg = ViewRenderConfig(n_views=3, n_val_views=2, height=16, width=16, mesh_resolution=32)
    mug = make_shape("mug", 2)
    index = render_dataset([chair, mug], tmp_path, cfg, progress=False)
    assert list(index["id"]) == ["chair_00000", "mug_00001"]
    assert (tmp_path / "index.csv").is_file()
    back = read_blender(tmp_path / "mug_00001", "train")
    mem = render_shape(mug, cfg).viewset("white")
    assert back.n_views == 3 and back.focal == pytest.approx(mem.focal)
    assert torch.allclose(back.c2w, mem.c2w, atol=1e-6)
    assert torch.allclose(back.alpha, mem.alpha, atol=0.5 / 255 + 1e-6)
    assert torch.allclose(back.rgb, mem.rgb, atol=1.5 / 255)
    assert read_blender(tmp_path / "chair_00000", "val").n_views == 2


def test_default_part_palette_renders_as_before(chair):
    """The default palette: part colours from PALETTE, the configured ambient, and the same pixels as
    the renderer wrote before palettes were a setting (known means of two small renders)."""
    cfg = ViewRenderConfig(n_views=3, n_val_views=1, height=24, width=24, mesh_resolution=32)
    assert cfg.palette == "part"
    shape = make_shape("chair", 5, 30.0)
    assert part_colors(shape, cfg).tolist() == [list(c) for c in PALETTE[:4]] and shape_ambient(shape, cfg) == 0.35
    views = render_shape(shape, cfg)
    mesh = shape_mesh(shape, cfg.mesh_resolution)
    colors = torch.from_numpy(PALETTE_ARRAY[face_labels(shape, mesh.triangles_center)]).float()
    direct = render_mesh(torch.from_numpy(np.array(mesh.vertices)), torch.from_numpy(np.array(mesh.faces)), colors,
                         views.c2w, cfg.focal, 24, 24, vertex_normals=torch.from_numpy(np.array(mesh.vertex_normals)),
                         supersample=2, ambient=0.35, light_dir=cfg.light_dir)
    assert torch.equal(views.rgba, direct)
    assert float(views.rgba.double().mean()) == pytest.approx(0.03808416825901346, rel=1e-5)
    jit = ViewRenderConfig(n_views=2, height=16, width=16, mesh_resolution=32, color_jitter=0.1, seed=2)
    mug = make_shape("mug", 9, 30.0)
    assert np.allclose(part_colors(mug, jit), [[0.07541620624009934, 0.40491037230046945, 0.7702552195241877],
                                               [1.0, 0.4141112699632157, 0.12263801806702387]], atol=1e-12)
    assert float(render_shape(mug, jit).rgba.double().mean()) == pytest.approx(0.08031610481612006, rel=1e-5)


def test_object_palette_gives_every_object_its_own_colours_and_material(chair):
    cfg = ViewRenderConfig(n_views=4, height=24, width=24, mesh_resolution=32, palette="object", seed=1)
    other = make_shape("chair", 12)
    a, b = part_colors(chair, cfg), part_colors(other, cfg)
    assert a.shape == (4, 3) and bool(((a >= 0) & (a <= 1)).all())
    assert np.abs(a - b).max() > 0.1                                          # same class, other colours
    assert np.array_equal(a, part_colors(make_shape("chair", 11), cfg))       # deterministic from the seeds
    assert not np.array_equal(a, part_colors(chair, ViewRenderConfig(palette="object", seed=2)))
    assert np.abs(a - np.array(PALETTE[:4])).max() > 0.1
    amb = [shape_ambient(s, cfg) for s in (chair, other)]
    assert all(OBJECT_AMBIENT[0] <= x <= OBJECT_AMBIENT[1] for x in amb) and amb[0] != amb[1]
    assert amb[0] == shape_ambient(make_shape("chair", 11), cfg)
    ra, rb = render_shape(chair, cfg), render_shape(other, cfg)
    assert torch.equal(ra.rgba, render_shape(chair, cfg).rgba)
    means = [v.rgba[..., :3][v.rgba[..., 3] > 0.5].mean(0) for v in (ra, rb)]
    assert float((means[0] - means[1]).abs().max()) > 0.05                   # the mean colours differ
    default = render_shape(chair, ViewRenderConfig(n_views=4, height=24, width=24, mesh_resolution=32, seed=1))
    assert torch.equal(ra.rgba[..., 3], default.rgba[..., 3])                # same object, same silhouettes
    assert not torch.equal(ra.rgba[..., :3], default.rgba[..., :3])


def test_config_validation():
    with pytest.raises(ValueError):
        ViewRenderConfig(radius=1.0)
    with pytest.raises(ValueError):
        ViewRenderConfig(height=0)
    with pytest.raises(ValueError):
        ViewRenderConfig().poses("test")
    with pytest.raises(ValueError, match="palette"):
        ViewRenderConfig(palette="class")
