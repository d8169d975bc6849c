"""Render the embedded multi-view dataset: a per-class subset of a procedural shape dataset's objects
(same ids and splits), coloured per part, in the Blender layout (params: nerf.data)."""
from __future__ import annotations

import pandas as pd
from _common import PATHS, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.data.prepare import DatasetParams
from nf2vec_core.nerf.dataset import NerfDataParams, render_views_dataset


def main() -> None:
    ap = parser(__doc__)
    args = ap.parse_args()
    p = params(args)
    cfg = load_section(p, "nerf.data", NerfDataParams)
    shapes = load_section(p, f"datasets.{cfg.from_dataset}", DatasetParams)
    prepared = pd.read_csv(PATHS.prepared(cfg.from_dataset) / "index.csv", keep_default_na=False)
    index = render_views_dataset(shapes, prepared, cfg, PATHS.views(cfg.from_dataset))
    print(f"rendered {len(index)} objects: {index['split'].value_counts().to_dict()}")


if __name__ == "__main__":
    run(main)
