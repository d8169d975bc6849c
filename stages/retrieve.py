"""Retrieval (k-NN over test embeddings: true mAP@k, precision@k, hit-rate@k) and latent-space
views (t-SNE coloured by class, k-means NMI)."""
from __future__ import annotations

import json

from _common import PATHS, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.store.embeddings import read_embeddings, split_arrays
from nf2vec_core.store.io import write_json
from nf2vec_core.tasks.latent import latent_report, tsne_2d
from nf2vec_core.tasks.params import RetrievalParams
from nf2vec_core.tasks.retrieval import retrieval_report
from nf2vec_core.viz.plots import plot_tsne


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True)
    args = ap.parse_args()
    cfg = load_section(params(args), "retrieval", RetrievalParams)
    ks, seed = cfg.ks, cfg.seed
    emb, index = read_embeddings(PATHS.embeddings(args.dataset))
    classes = json.loads((PATHS.prepared(args.dataset) / "meta.json").read_text())["classes"]
    x, y = split_arrays(emb, index, "test")
    report = retrieval_report(x, y, ks=ks)
    report.update({f"latent_{k}": v for k, v in latent_report(x, y, seed=seed).items()})
    plot_tsne(tsne_2d(x, seed=seed), y, classes, PATHS.plot("tsne", args.dataset),
              title=f"t-SNE of nf2vec test embeddings ({args.dataset})")
    write_json(PATHS.metrics("retrieval", args.dataset), report)
    print(report)


if __name__ == "__main__":
    run(main)
