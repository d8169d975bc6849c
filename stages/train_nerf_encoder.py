"""nf2vec on NeRFs: train the encoder over NeRF weights + the radiance decoder through the volume
renderer (params nerf.encoder, nerf.decoder); embed every NeRF; renders of decoded embeddings vs the
input NeRFs (paper 000 Fig. 5) and latent vs weight interpolation (Figs. 7-8)."""
from __future__ import annotations

import pandas as pd
import torch
from _common import ROOT, parser, params, run

from nf2vec_core.config import load_section
from nf2vec_core.decoders.implicit import ImplicitDecoderConfig
from nf2vec_core.fitting.run import pick_device
from nf2vec_core.metrics.image import psnr
from nf2vec_core.nerf.dataset import NerfDataParams, NerfDataset, load_view_sets, scene_batch
from nf2vec_core.nerf.nf2vec import (NerfEncoderParams, checkpoint_dict, embed_nerfs, render_embeddings,
                                     train_nerf_nf2vec)
from nf2vec_core.nerf.render import RenderConfig
from nf2vec_core.nerf.tasks import render_nerf_views
from nf2vec_core.store.embeddings import write_embeddings
from nf2vec_core.tasks.reconstruction import spread
from nf2vec_core.store.io import atomic_path, write_csv, write_json
from nf2vec_core.viz.figures import plot_image_grid


def main() -> None:
    ap = parser(__doc__)
    args = ap.parse_args()
    p = params(args)
    data = load_section(p, "nerf.data", NerfDataParams)
    enc_p = load_section(p, "nerf.encoder", NerfEncoderParams)
    dec_p = load_section(p, "nerf.decoder", ImplicitDecoderConfig)
    device = pick_device(p["nerf"].get("device", "auto"))
    views_dir = ROOT / "data" / "views" / data.from_dataset
    ds = NerfDataset(ROOT / "data" / "nerf" / data.from_dataset)
    theta = ds.params()
    ids = ds.index["id"].tolist()
    rows = {s: ds.split_rows(s) for s in ("train", "val", "test")}
    train = (theta[rows["train"]], scene_batch(views_dir, [ids[i] for i in rows["train"]]))
    val = (theta[rows["val"]], scene_batch(views_dir, [ids[i] for i in rows["val"]]))
    res = train_nerf_nf2vec(ds.arch, train, val, enc_p, dec_p, device=device)
    res.encoder.cpu()
    res.decoder.cpu()
    out_models = ROOT / "models" / "nerf"
    with atomic_path(out_models / "nf2vec.pt") as tmp:
        torch.save(checkpoint_dict(res, ds.arch, enc_p, dec_p), tmp)
    write_csv(ROOT / "plots" / "nerf_train.csv", pd.DataFrame(res.history).reset_index(names="epoch"))
    emb = embed_nerfs(res.encoder, ds.arch, theta)
    write_embeddings(ROOT / "data" / "embeddings" / "nerf", emb, ds.index)

    # decoded embeddings vs input NeRFs on the held-out views of the test objects (Fig. 5)
    test = rows["test"]
    vs = load_view_sets(views_dir, [ids[i] for i in test], "val")
    render = RenderConfig(samples_per_ray=64, estimator="batched")
    shown_rows = set(spread(list(range(len(test))), 4))
    dec_psnr, nerf_psnr, blank_psnr, imgs, titles = [], [], [], [], []
    for j, i in enumerate(test):
        v = vs[j]
        dec = render_embeddings(res.decoder, emb[i:i + 1], v.c2w.unsqueeze(0), v.focal, v.height, v.width, render)[0]
        ner = render_nerf_views(ds.arch, theta[i:i + 1], v.c2w, v.focal, v.height, v.width, render)[0]
        dec_psnr.append(float(psnr(dec.clamp(0, 1), v.rgb).mean()))
        nerf_psnr.append(float(psnr(ner, v.rgb).mean()))
        blank_psnr.append(float(psnr(torch.ones_like(v.rgb), v.rgb).mean()))   # the trivial render: background only
        if j in shown_rows:
            for k in sorted({0, v.n_views // 2}):                # two held-out views per object
                imgs += [v.rgb[k], ner[k], dec[k].clamp(0, 1)]
                titles += [f"{ids[i]}, view {k}", "input NeRF", "nf2vec decoder"]
    plot_image_grid(imgs, titles, ROOT / "plots" / "nerf_reconstruct.png", ncols=6)

    # latent vs weight interpolation between two test NeRFs of different classes, from 3 views (Figs. 7-8)
    cls = ds.index["class_id"].to_numpy()
    a = test[0]
    b = next((i for i in test if cls[i] != cls[a]), test[-1])
    steps = 5
    al = torch.linspace(0, 1, steps).unsqueeze(1)
    v = vs[0]
    poses = v.c2w[:3]
    lat = render_embeddings(res.decoder, (1 - al) * emb[a] + al * emb[b], poses.unsqueeze(0).expand(steps, -1, -1, -1),
                            v.focal, v.height, v.width, render).clamp(0, 1)          # [steps, 3, H, W, 3]
    wts = render_nerf_views(ds.arch, (1 - al) * theta[a] + al * theta[b], poses, v.focal, v.height, v.width, render)
    imgs, titles = [], []
    for k in range(poses.shape[0]):
        imgs += [*lat[:, k], *wts[:, k]]
        titles += ([f"nf2vec latent, t={t:.2f}, view {k}" for t in al[:, 0].tolist()]
                   + [f"NeRF weights, t={t:.2f}, view {k}" for t in al[:, 0].tolist()])
    plot_image_grid(imgs, titles, ROOT / "plots" / "nerf_interpolation.png", ncols=steps)
    metrics = {"best_epoch": res.best_epoch, "best_val_render_loss": res.best_val_loss, "seconds": round(res.seconds, 1),
               "n_train": len(rows["train"]), "test_decoded_psnr": sum(dec_psnr) / len(dec_psnr),
               "test_nerf_psnr": sum(nerf_psnr) / len(nerf_psnr), "test_blank_psnr": sum(blank_psnr) / len(blank_psnr)}
    write_json(ROOT / "metrics" / "nerf_train.json", metrics)
    print(metrics)


if __name__ == "__main__":
    run(main)
