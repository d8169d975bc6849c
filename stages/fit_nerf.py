"""Fit one NeRF per rendered object (batched, shared init, nerfacc rendering; resumable by shards)."""
from __future__ import annotations

from dataclasses import asdict

from _common import PATHS, ROOT, params, parser, run

from nf2vec_core.config import load_section, load_value
from nf2vec_core.nerf.arch import NerfArch
from nf2vec_core.nerf.dataset import NerfDataParams, fit_nerf_dataset
from nf2vec_core.nerf.fit import NerfFitConfig
from nf2vec_core.runtime import hardware_summary, pick_device
from nf2vec_core.store import staging
from nf2vec_core.store.results import write_results


def main() -> None:
    ap = parser(__doc__)
    args = ap.parse_args()
    p = params(args)
    data = load_section(p, "nerf.data", NerfDataParams)
    arch = load_section(p, "nerf.arch", NerfArch)
    cfg = load_section(p, "nerf.fit", NerfFitConfig)
    shard_size = load_value(p, "nerf.shard_size", int)
    device = pick_device(load_value(p, "nerf.device", str, default="auto"))
    views, out = PATHS.views(data.from_dataset), PATHS.nerfs(data.from_dataset)
    work = staging.open_work(staging.work_dir(ROOT, "fit_nerf", data.from_dataset),
                             staging.fingerprint({"arch": asdict(arch), "fit": asdict(cfg), "shard_size": shard_size},
                                                 [views], [__file__]))
    summary = fit_nerf_dataset(views, work / "out", arch, cfg, shard_size=shard_size, device=device)  # resumable
    staging.publish_dir(work / "out", out)
    staging.close_work(work)
    summary["hardware"] = hardware_summary()
    write_results(PATHS.metrics("nerf_fit"), summary)
    print(summary)


if __name__ == "__main__":
    run(main)
