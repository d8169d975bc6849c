import math

import pytest
import torch

from nf2vec_core.nerf.rays import (camera_rays, look_at, pixel_directions, ray_aabb, ray_bounds, rays_at_pixels,
                                   sphere_poses)


def test_look_at_identity_and_opengl_axes():
    c2w = look_at(torch.tensor([0.0, 0.0, 3.0]))
    assert torch.allclose(c2w[:3, :3], torch.eye(3), atol=1e-6)
    assert torch.allclose(c2w[:3, 3], torch.tensor([0.0, 0.0, 3.0]))
    # looking straight down the up axis still gives a valid rotation
    top = look_at(torch.tensor([0.0, 2.0, 0.0]))
    assert torch.allclose(top[:3, :3] @ top[:3, :3].T, torch.eye(3), atol=1e-6)
    assert torch.allclose(-top[:3, 2], torch.tensor([0.0, -1.0, 0.0]), atol=1e-6)


def test_sphere_poses_look_at_target_from_the_radius():
    poses = sphere_poses(36, 3.2)
    eye = poses[:, :3, 3]
    assert torch.allclose(eye.norm(dim=-1), torch.full((36,), 3.2), atol=1e-5)
    fwd = -poses[:, :3, 2]
    assert torch.allclose((fwd * -eye / 3.2).sum(-1), torch.ones(36), atol=1e-5)
    rot = poses[:, :3, :3]
    assert torch.allclose(torch.linalg.det(rot), torch.ones(36), atol=1e-5)
    assert bool((poses[:, :3, 1] @ torch.tensor([0.0, 1.0, 0.0]) > 0).all())     # upright cameras
    # heights uniform in [-1, 1] (equal-area lattice) and held-out azimuths differ from the training ones
    h = eye[:, 1] / 3.2
    assert float(h.max()) < 1 and float(h.min()) > -1 and abs(float(h.mean())) < 1e-5
    other = sphere_poses(36, 3.2, rotation=0.5)[:, :3, 3]
    assert float(torch.cdist(other, eye).min()) > 0.1


def test_center_ray_is_the_viewing_axis_and_projection_round_trip():
    c2w = sphere_poses(5, 4.0)
    h, w, f = 7, 9, 11.0
    o, d = camera_rays(c2w, f, h, w)
    assert o.shape == d.shape == (5, h, w, 3)
    assert torch.allclose(d.norm(dim=-1), torch.ones(5, h, w), atol=1e-6)
    assert torch.allclose(d[:, 3, 4], -c2w[:, :3, 2], atol=1e-6)                  # odd sizes: exact centre
    # pinhole projection of a world point lands on the pixel whose ray passes through it
    x = torch.tensor([0.3, -0.2, 0.25])
    for k in range(5):
        cam = (x - c2w[k, :3, 3]) @ c2w[k, :3, :3]
        col = f * cam[0] / -cam[2] + w / 2 - 0.5
        row = -f * cam[1] / -cam[2] + h / 2 - 0.5
        oo, dd = rays_at_pixels(c2w[k], f, row, col, h, w)
        t = float((x - oo) @ dd)
        assert torch.allclose(oo + t * dd, x, atol=1e-5)
    # rays_at_pixels agrees with camera_rays on the grid (image row 0 is at the top: +y in camera)
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    o2, d2 = rays_at_pixels(c2w[:, None, None], f, rows, cols, h, w)
    assert torch.allclose(d2, d, atol=1e-6) and torch.allclose(o2, o)
    dc = pixel_directions(h, w, f)
    assert float(dc[0, 4, 1]) > 0 > float(dc[-1, 4, 1]) and float(dc[3, 0, 0]) < 0 < float(dc[3, -1, 0])


def test_ray_aabb_and_bounds():
    box = (-1.0, -1.0, -1.0, 1.0, 1.0, 1.0)
    o = torch.tensor([[0.0, 0.0, 5.0], [0.0, 3.0, 5.0], [0.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    d = torch.tensor([[0.0, 0.0, -1.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    t0, t1, hit = ray_aabb(o, d, box)
    assert hit.tolist() == [True, False, True, False]
    assert t0[0] == pytest.approx(4.0) and t1[0] == pytest.approx(6.0)
    assert t0[2] == pytest.approx(-1.0) and t1[2] == pytest.approx(1.0)
    tn, tf = ray_bounds(o, d, near=0.5, far=5.5, aabb=box)
    assert tn.tolist()[0] == pytest.approx(4.0) and tf.tolist()[0] == pytest.approx(5.5)
    assert tn[2] == pytest.approx(0.5) and tf[2] == pytest.approx(1.0)
    assert float(tf[1] - tn[1]) == 0.0 and float(tf[3] - tn[3]) == 0.0             # misses: empty interval
    tn, tf = ray_bounds(o, d, near=2.0, far=6.0)
    assert torch.equal(tn, torch.full((4,), 2.0)) and torch.equal(tf, torch.full((4,), 6.0))


def test_sphere_poses_rejects_bad_arguments():
    with pytest.raises(ValueError):
        sphere_poses(0, 1.0)
    with pytest.raises(ValueError):
        sphere_poses(3, -math.pi)
