"""nf2vec on NeRFs: train the encoder over NeRF weights + the radiance decoder through the volume
renderer (params nerf.encoder, nerf.decoder); embed every NeRF; renders of decoded embeddings vs the
input NeRFs (paper 000 Fig. 5) and latent vs weight interpolation (Figs. 7-8)."""
from __future__ import annotations

from dataclasses import asdict

import pandas as pd
import torch
from _common import PATHS, ROOT, params, parser, run

from nf2vec_core.config import load_section, load_value
from nf2vec_core.decoders.implicit import ImplicitDecoderConfig
from nf2vec_core.nerf.dataset import NerfDataParams, NerfDataset, load_view_sets, scene_batch
from nf2vec_core.nerf.encoder import NerfEncoderParams, embed_nerfs, save_checkpoint, train_nerf_nf2vec
from nf2vec_core.nerf.render_config import RenderConfig
from nf2vec_core.nerf.view_panels import decoded_vs_input, interpolation_panels
from nf2vec_core.runtime import pick_device
from nf2vec_core.store import staging
from nf2vec_core.store.embeddings import write_embeddings
from nf2vec_core.store.io import write_csv
from nf2vec_core.store.results import write_results
from nf2vec_core.viz.plots import plot_image_grid


def main() -> None:
    ap = parser(__doc__)
    args = ap.parse_args()
    p = params(args)
    data = load_section(p, "nerf.data", NerfDataParams)
    enc_p = load_section(p, "nerf.encoder", NerfEncoderParams)
    dec_p = load_section(p, "nerf.decoder", ImplicitDecoderConfig)
    device = pick_device(load_value(p, "nerf.device", str, default="auto"))
    views_dir = PATHS.views(data.from_dataset)
    ds = NerfDataset(PATHS.nerfs(data.from_dataset))
    theta = ds.params()
    ids = ds.index["id"].tolist()
    rows = {s: ds.split_rows(s) for s in ("train", "val", "test")}
    train = (theta[rows["train"]], scene_batch(views_dir, [ids[i] for i in rows["train"]]))
    val = (theta[rows["val"]], scene_batch(views_dir, [ids[i] for i in rows["val"]]))
    work = staging.open_work(staging.work_dir(ROOT, "train_nerf_encoder", data.from_dataset),
                             staging.fingerprint({"encoder": asdict(enc_p), "decoder": asdict(dec_p)},
                                                 [ds.root, views_dir], [__file__]))
    res = train_nerf_nf2vec(ds.arch, train, val, enc_p, dec_p, device=device,
                            state_path=work / "state.safetensors")   # resumable: the last epoch's state
    res.encoder.cpu()
    res.decoder.cpu()
    save_checkpoint(PATHS.nerf_encoder(), res, ds.arch, enc_p, dec_p)
    write_csv(PATHS.plot("nerf_train", ext="csv"), pd.DataFrame(res.history).reset_index(names="epoch"))
    emb = embed_nerfs(res.encoder, ds.arch, theta)
    write_embeddings(PATHS.embeddings("nerf"), emb, ds.index)

    # decoded embeddings vs input NeRFs on the held-out views of the test objects (Fig. 5)
    test = rows["test"]
    vs = load_view_sets(views_dir, [ids[i] for i in test], "val")
    render = RenderConfig(samples_per_ray=64, estimator="batched")
    scores, panels = decoded_vs_input(res.decoder, ds.arch, emb[test], theta[test], vs, [ids[i] for i in test], render)
    plot_image_grid(panels.images, panels.titles, PATHS.plot("nerf_reconstruct"), ncols=6)
    # latent vs weight interpolation between two test NeRFs of different classes, from 3 views (Figs. 7-8)
    cls = ds.index["class_id"].to_numpy()
    a = test[0]
    b = next((i for i in test if cls[i] != cls[a]), test[-1])
    panels = interpolation_panels(res.decoder, ds.arch, emb[[a, b]], theta[[a, b]], vs[0], render, steps=5, n_views=3)
    plot_image_grid(panels.images, panels.titles, PATHS.plot("nerf_interpolation"), ncols=5)
    metrics = {"best_epoch": res.best_epoch, "best_val_render_loss": res.best_val_loss, "seconds": round(res.seconds, 1),
               "n_train": len(rows["train"]), **scores.means()}
    write_results(PATHS.metrics("nerf_train"), metrics)
    staging.close_work(work)
    print(metrics)


if __name__ == "__main__":
    run(main)
