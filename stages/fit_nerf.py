"""Fit one NeRF per rendered object (batched, shared init, nerfacc rendering; resumable by shards)."""
from __future__ import annotations

from _common import ROOT, parser, params, run

from nf2vec_core.config import load_section, load_value
from nf2vec_core.fitting.run import pick_device
from nf2vec_core.nerf.arch import NerfArch
from nf2vec_core.nerf.dataset import NerfDataParams, fit_nerf_dataset
from nf2vec_core.nerf.fit import NerfFitConfig
from nf2vec_core.runtime import hardware_summary
from nf2vec_core.store.io import write_json


def main() -> None:
    ap = parser(__doc__)
    args = ap.parse_args()
    p = params(args)
    data = load_section(p, "nerf.data", NerfDataParams)
    arch = load_section(p, "nerf.arch", NerfArch)
    cfg = load_section(p, "nerf.fit", NerfFitConfig)
    shard_size = load_value(p, "nerf.shard_size", int)
    device = pick_device(load_value(p, "nerf.device", str, default="auto"))
    summary = fit_nerf_dataset(ROOT / "data" / "views" / data.from_dataset, ROOT / "data" / "nerf" / data.from_dataset,
                               arch, cfg, shard_size=shard_size, device=device)
    summary["hardware"] = hardware_summary()
    write_json(ROOT / "metrics" / "nerf_fit.json", summary)
    print(summary)


if __name__ == "__main__":
    run(main)
