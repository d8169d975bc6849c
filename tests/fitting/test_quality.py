import torch

from nf2vec_core.fitting.engine import FitConfig, FitTargets, fit_chunk
from nf2vec_core.fitting.quality import udf_point_cloud
from nf2vec_core.nf.init import init_batch
from nf2vec_core.nf.layout import ArchSpec

CLIP, RADIUS = 0.1, 0.5


def test_udf_point_cloud_lies_on_the_fitted_sphere() -> None:
    """A SIREN fitted to a sphere's clipped UDF: the kept points sit on the sphere, the others do not."""
    g = torch.Generator().manual_seed(0)
    coords = torch.rand(4000, 3, generator=g) * 2 - 1
    near = torch.nn.functional.normalize(torch.randn(4000, 3, generator=g), dim=-1) * RADIUS
    coords = torch.cat([coords, near + 0.05 * torch.randn(4000, 3, generator=g)])
    udf = ((coords.norm(dim=-1) - RADIUS).abs().clamp(max=CLIP) / CLIP)[None, :, None]
    spec = ArchSpec(depth=2, hidden=32, in_dim=3, out_dim=1)
    theta, _ = fit_chunk(spec, init_batch(spec, 1, mode="shared", seed=0), FitTargets(coords, udf),
                         FitConfig(steps=300, lr=1e-3, points_per_step=2048, loss="bce"))
    cand = torch.rand(1, 3000, 3, generator=g) * 2 - 1
    pts = udf_point_cloud(spec, theta, cand, CLIP, n_points=300, iters=3)
    assert pts.shape == (1, 300, 3)
    err = (pts.norm(dim=-1) - RADIUS).abs()
    assert err.mean() < 0.03, err.mean()
    assert (cand.norm(dim=-1) - RADIUS).abs().mean() > 0.2   # the candidates themselves are not on it
