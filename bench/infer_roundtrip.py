"""The inference command against the pipeline's own test accuracy: the internal test split of a
procedural dataset is exported as meshes in the official-test layout (``<class>/test/*.off``), as a
user would hand in new data, and `nf2vec infer` fits, embeds and classifies it with the trained
models. Its accuracy should match the classify stage's test accuracy within a few points (the NFs
are fitted from meshes instead of the generator's exact fields).

    python bench/infer_roundtrip.py --dataset shapes        # after `make repro`
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import pandas as pd
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nf2vec_core.config import load_section, read_params  # noqa: E402
from nf2vec_core.data import procedural as proc  # noqa: E402
from nf2vec_core.data.prepare import DatasetParams  # noqa: E402
from nf2vec_core.tasks.inference import TrainedDataset, infer_folder  # noqa: E402


def export_test_split(dataset: str, p: DatasetParams, out: Path, resolution: int) -> int:
    index = pd.read_csv(ROOT / "data" / "prepared" / dataset / "index.csv", keep_default_na=False)
    test = index[index["split"] == "test"]
    for row in tqdm(test.itertuples(), total=len(test), desc="export meshes", unit="shape"):
        _, class_name, seed = row.source.split(":")
        mesh = proc.shape_mesh(proc.make_shape(class_name, int(seed), p.max_yaw_deg), resolution=resolution)
        (out / class_name / "test").mkdir(parents=True, exist_ok=True)
        mesh.export(out / class_name / "test" / f"{row.id}.off")
    return len(test)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="shapes")
    ap.add_argument("--mesh-resolution", type=int, default=96)
    args = ap.parse_args()
    p = load_section(read_params(ROOT / "params.yaml"), f"datasets.{args.dataset}", DatasetParams)
    if p.source != "procedural":
        raise SystemExit("infer_roundtrip: needs a procedural dataset (its test shapes are re-generated as meshes)")
    with tempfile.TemporaryDirectory(prefix="nf2vec-infer-") as tmp:
        folder, out = Path(tmp) / "test_split", Path(tmp) / "out"
        n = export_test_split(args.dataset, p, folder, args.mesh_resolution)
        summary = infer_folder(folder, "modelnet", p, TrainedDataset.of(ROOT, args.dataset), out)
    pipeline = json.loads((ROOT / "metrics" / f"classify_{args.dataset}.json").read_text())["accuracy"]
    print(json.dumps({"test_shapes": n, "rejected": summary["rejected"], "infer_accuracy": summary["accuracy"],
                      "classify_stage_accuracy": pipeline}))


if __name__ == "__main__":
    main()
