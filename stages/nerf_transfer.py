"""Map shape (occupancy NF) embeddings to NeRF embeddings of the same objects with a transfer MLP
(paper 000 Fig. 16/21), trained on the train objects; the mapped embeddings of unseen test objects
are decoded by the NeRF decoder and rendered at held-out views (params nerf.transfer)."""
from __future__ import annotations

import torch
from _common import PATHS, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.errors import BadInputError
from nf2vec_core.nerf.dataset import NerfDataParams, load_view_sets
from nf2vec_core.nerf.encoder import load_checkpoint
from nf2vec_core.nerf.render_config import RenderConfig
from nf2vec_core.nerf.tasks import TransferParams, train_transfer
from nf2vec_core.nerf.view_panels import transfer_panels
from nf2vec_core.store.embeddings import read_embeddings
from nf2vec_core.store.io import write_json
from nf2vec_core.viz.plots import plot_image_grid


def main() -> None:
    ap = parser(__doc__)
    args = ap.parse_args()
    p = params(args)
    data = load_section(p, "nerf.data", NerfDataParams)
    cfg = load_section(p, "nerf.transfer", TransferParams)
    src, src_index = read_embeddings(PATHS.embeddings(data.from_dataset))
    dst, dst_index = read_embeddings(PATHS.embeddings("nerf"))
    pos = {i: k for k, i in enumerate(src_index["id"])}
    missing = [i for i in dst_index["id"] if i not in pos]
    if missing:
        raise BadInputError(PATHS.embeddings(data.from_dataset), f"no shape embedding for {missing[:3]}")
    src = src[[pos[i] for i in dst_index["id"]]]
    split = dst_index["split"].to_numpy()
    sel = {s: torch.as_tensor(split == s) for s in ("train", "val", "test")}
    net, hist = train_transfer(src[sel["train"]], dst[sel["train"]], src[sel["val"]], dst[sel["val"]], cfg,
                               desc="transfer shape -> NeRF embeddings")
    arch, _, decoder, _ = load_checkpoint(PATHS.nerf_encoder())
    test_ids = dst_index["id"][split == "test"].tolist()
    with torch.no_grad():
        mapped = net(src[sel["test"]])
    own = dst[sel["test"]]
    vs = load_view_sets(PATHS.views(data.from_dataset), test_ids, "val")
    render = RenderConfig(samples_per_ray=64, estimator="batched")
    p_map, p_own, panels = transfer_panels(decoder, mapped, own, vs, test_ids, render)
    plot_image_grid(panels.images, panels.titles, PATHS.plot("nerf_transfer"), ncols=3)
    l2 = (mapped - own).pow(2).sum(-1)
    # nearest-neighbour check: is the mapped embedding closest to its own object's NeRF embedding?
    hit = (torch.cdist(mapped, own).argmin(1) == torch.arange(len(own))).float().mean()
    out = {"n_train": int(sel["train"].sum()), "n_test": len(test_ids), "test_mapped_psnr": sum(p_map) / len(p_map),
           "test_own_embedding_psnr": sum(p_own) / len(p_own), "test_l2": float(l2.mean()),
           "test_relative_l2": float(l2.mean() / own.pow(2).sum(-1).mean()), "test_nn_identity_rate": float(hit),
           "best_val_loss": min(hist["val_loss"])}
    write_json(PATHS.metrics("nerf_transfer"), out)
    print(out)


if __name__ == "__main__":
    run(main)
