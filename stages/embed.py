"""Embed every NF of a neural dataset with the trained nf2vec encoder (best checkpoint)."""
from __future__ import annotations

from _common import ROOT, parser, run

from nf2vec_core.encoders.rows import encode
from nf2vec_core.fitting.run import pick_device
from nf2vec_core.store.embeddings import write_embeddings
from nf2vec_core.store.neural_dataset import NeuralDataset
from nf2vec_core.train.checkpoint import load_model


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True)
    args = ap.parse_args()
    device = pick_device("auto")
    encoder, _, meta = load_model(ROOT / "models" / args.dataset / "best.pt", map_location=device)
    neural = NeuralDataset(ROOT / "data" / "neural" / args.dataset)
    if meta["arch"] != neural.spec:
        raise SystemExit(f"error: {neural.root}: architecture differs from the checkpoint's")
    emb = encode(encoder, neural.spec, neural.params().to(device), progress=True).cpu()
    write_embeddings(ROOT / "data" / "embeddings" / args.dataset, emb, neural.index)
    print(f"embedded {emb.shape[0]} NFs -> {emb.shape[1]}-d")


if __name__ == "__main__":
    run(main)
