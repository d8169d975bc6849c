import numpy as np
import pytest
import torch

from nf2vec_core.errors import BadInputError
from nf2vec_core.fields.pixels import bilinear_sample, image_coords, image_to_field, off_grid_coords


def test_image_coords_are_pixel_centres_row_major():
    c = image_coords(2, 4)
    assert c.shape == (8, 2)
    assert torch.allclose(c[0], torch.tensor([-0.75, -0.5]))      # (x, y) of pixel (row 0, col 0)
    assert torch.allclose(c[1], torch.tensor([-0.25, -0.5]))      # next column first
    assert torch.allclose(c[4], torch.tensor([-0.75, 0.5]))       # then the next row
    assert c.abs().max() < 1


def test_image_to_field_and_identity_at_centres():
    img = np.random.default_rng(0).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    coords, values = image_to_field(img)
    assert coords.shape == (35, 2) and values.shape == (35, 3)
    assert torch.allclose(values, torch.from_numpy(img.reshape(35, 3)).float() / 255)
    assert torch.allclose(bilinear_sample(img, coords), values, atol=1e-6)
    gray = torch.rand(6, 4)
    c, v = image_to_field(gray)
    assert v.shape == (24, 1) and torch.allclose(bilinear_sample(gray, c), v, atol=1e-6)
    batch = torch.rand(2, 6, 4, 3)
    assert torch.allclose(bilinear_sample(batch, c), batch.reshape(2, 24, 3), atol=1e-6)


def test_midpoints_average_the_four_neighbours():
    img = torch.rand(5, 6, 2)
    mid = off_grid_coords(5, 6, "midpoints")
    assert mid.shape == (4 * 5, 2)
    expected = (img[:-1, :-1] + img[1:, :-1] + img[:-1, 1:] + img[1:, 1:]) / 4
    assert torch.allclose(bilinear_sample(img, mid), expected.reshape(-1, 2), atol=1e-6)
    # halfway between two horizontal neighbours: their mean
    half = torch.tensor([[-1 + 2 / 6, -1 + 1 / 5]])                 # between columns 0 and 1 of row 0
    assert torch.allclose(bilinear_sample(img, half)[0], (img[0, 0] + img[0, 1]) / 2, atol=1e-6)


def test_random_off_grid_coords_stay_inside_the_centre_hull():
    c = off_grid_coords(8, 10, 1000, rng=0)
    assert c.shape == (1000, 2)
    assert c[:, 0].min() >= -1 + 1 / 10 and c[:, 0].max() <= 1 - 1 / 10
    assert c[:, 1].min() >= -1 + 1 / 8 and c[:, 1].max() <= 1 - 1 / 8
    assert torch.equal(c, off_grid_coords(8, 10, 1000, rng=0))
    ramp = torch.arange(10, dtype=torch.float32).repeat(8, 1)        # value = column index
    col = (c[:, 0] + 1) / 2 * 10 - 0.5                               # continuous column coordinate
    assert torch.allclose(bilinear_sample(ramp, c)[:, 0], col, atol=1e-4)   # bilinear is exact on ramps


def test_bad_images():
    with pytest.raises(BadInputError):
        image_to_field(np.zeros((0, 4)))
    with pytest.raises(BadInputError, match="NaN"):
        image_to_field(np.full((2, 2), np.nan))
