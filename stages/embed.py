"""Embed every NF of a neural dataset with the trained nf2vec encoder (best checkpoint)."""
from __future__ import annotations

import pandas as pd
import torch
from _common import PATHS, parser, run

from nf2vec_core.encoders.rows import encode
from nf2vec_core.runtime import pick_device
from nf2vec_core.store.embeddings import write_embeddings
from nf2vec_core.store.neural_dataset import NeuralDataset, load_views
from nf2vec_core.train.checkpoint import check_arch, load_model


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True)
    args = ap.parse_args()
    device = pick_device("auto")
    encoder, _, meta = load_model(PATHS.encoder(args.dataset), map_location=device)
    neural = NeuralDataset(PATHS.neural(args.dataset))
    check_arch(meta, neural.spec, PATHS.encoder(args.dataset))
    emb = encode(encoder, neural.spec, neural.params().to(device), progress=True).cpu()
    out = PATHS.embeddings(args.dataset)
    write_embeddings(out, emb, neural.index)
    views = load_views(PATHS.neural_views(args.dataset))
    if views:  # the other fits of the items (classifier.views trains on them too)
        v_emb = torch.cat([encode(encoder, v.spec, v.params().to(device), progress=True).cpu() for v in views])
        write_embeddings(out / "views", v_emb, pd.concat([v.index for v in views], ignore_index=True))
    print(f"embedded {emb.shape[0]} NFs -> {emb.shape[1]}-d" + (f", and {sum(len(v) for v in views)} views"
                                                              if views else ""))


if __name__ == "__main__":
    run(main)
