"""Mapping between field kinds (Zama Ramirez et al. 2024 §V, Fig. 18): a transfer MLP maps the
nf2vec embeddings of one dataset's NFs (e.g. UDFs of point clouds) to those of another dataset of
the same shapes (e.g. SDFs of meshes), trained on the train split, its epoch chosen on val; the
mapped test embeddings are decoded by the target's decoder (marching cubes for SDF) and scored
against the target surfaces (params field_map; the pairs: pipeline.field_maps)."""
from __future__ import annotations

from _common import PATHS, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.errors import BadInputError
from nf2vec_core.store.embeddings import read_embeddings
from nf2vec_core.store.prepared import PreparedData
from nf2vec_core.store.results import write_results
from nf2vec_core.tasks.field_map import FieldMapPair, FieldMapParams, map_fields
from nf2vec_core.tasks.reconstruction import spread
from nf2vec_core.train.checkpoint import load_model
from nf2vec_core.viz.field_map import plot_field_maps
from nf2vec_core.viz.plots import plot_point_clouds


def _side(dataset: str):
    """A dataset's decoder, embeddings (the embed stage's, in the prepared data's order) and data."""
    data = PreparedData(PATHS.prepared(dataset))
    emb, index = read_embeddings(PATHS.embeddings(dataset))
    if index["id"].tolist() != data.index["id"].tolist():
        raise BadInputError(PATHS.embeddings(dataset), "index does not match the prepared data (re-embed the same dataset)")
    return load_model(PATHS.encoder(dataset))[1], emb, data


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--name", required=True, help="a key of pipeline.field_maps")
    args = ap.parse_args()
    pp = params(args)
    pair = load_section(pp, f"pipeline.field_maps.{args.name}", FieldMapPair)
    p = load_section(pp, "field_map", FieldMapParams)
    res = map_fields(_side(pair.source), _side(pair.target), p)
    rows = spread(list(range(len(res.names))), p.n_figure)
    kinds = (res.summary["source_kind"].upper(), res.summary["target_kind"].upper())
    labels = (f"{kinds[0]} source (its surface)", f"nf2vec {kinds[0]} -> {kinds[1]}", "ground truth")
    c = {k: v[rows] for k, v in res.clouds.items()}
    names = [res.names[i] for i in rows]
    if res.meshes is not None:
        plot_field_maps(c["source_input"], [res.meshes[i] for i in rows], c["ground_truth"], names,
                        PATHS.plot("field_map", args.name), labels=labels)
    else:   # a target without an inside (UDF): its decoded clouds
        plot_point_clouds([x for row in zip(c["source_input"], c["nf2vec_mapping"], c["ground_truth"]) for x in row],
                          [t for n in names for t in (f"{n}\n{labels[0]}", *labels[1:])],
                          PATHS.plot("field_map", args.name), ncols=3)
    write_results(PATHS.metrics("field_map", args.name), res.summary)
    print({k: v for k, v in res.summary.items() if k != "scores"})
    print({k: {m: round(v[m], 4) for m in ("chamfer", "fscore")} for k, v in res.summary["scores"].items()})


if __name__ == "__main__":
    run(main)
