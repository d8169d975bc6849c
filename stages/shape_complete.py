"""Shape completion (paper 000 §V, Figs. 16-17): a transfer MLP maps the nf2vec embeddings of the
partial shapes' NFs to those of the complete shapes' NFs (trained on the train split, its epoch
chosen on val); the mapped test embeddings are decoded and scored (Chamfer, F-score) against the
complete surfaces, beside the partial input, the nearest training shape and the decoded complete
embedding (params completion)."""
from __future__ import annotations

from _common import PATHS, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.data.partial import partial_dirs
from nf2vec_core.errors import BadInputError
from nf2vec_core.store.embeddings import read_embeddings
from nf2vec_core.store.neural_dataset import NeuralDataset
from nf2vec_core.store.prepared import PreparedData
from nf2vec_core.store.results import write_results
from nf2vec_core.tasks.completion import CompletionParams, complete_shapes
from nf2vec_core.tasks.reconstruction import spread
from nf2vec_core.train.checkpoint import check_arch, load_model
from nf2vec_core.viz.completion import plot_completions


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True)
    args = ap.parse_args()
    p = load_section(params(args), "completion", CompletionParams)
    d = args.dataset
    encoder, decoder, meta = load_model(PATHS.encoder(d))
    complete = NeuralDataset(PATHS.neural(d))
    check_arch(meta, complete.spec, PATHS.encoder(d))
    emb, index = read_embeddings(PATHS.embeddings(d))   # the embed stage's, in the dataset's order
    if index["id"].tolist() != complete.index["id"].tolist():
        raise BadInputError(PATHS.embeddings(d), "index does not match the neural dataset (re-embed the same dataset)")
    partial_prepared, partial_neural = partial_dirs(PATHS, d)
    res = complete_shapes(encoder, decoder, complete, NeuralDataset(partial_neural), PreparedData(PATHS.prepared(d)),
                          PreparedData(partial_prepared), p, emb)
    rows = spread(list(range(len(res.names))), p.n_figure)
    c = {k: v[rows] for k, v in res.clouds.items()}
    plot_completions(c["partial_input"], c["nf2vec_completion"], c["nearest_train"], c["ground_truth"],
                     [res.names[i] for i in rows], PATHS.plot("completion", d))
    write_results(PATHS.metrics("completion", d), res.summary)
    print({k: v for k, v in res.summary.items() if k != "scores"})
    print({k: {m: round(v[m], 4) for m in ("chamfer", "fscore")} for k, v in res.summary["scores"].items()})


if __name__ == "__main__":
    run(main)
