"""Inference on new data: a folder of shapes the pipeline never saw → NFs → embeddings → classes
and nearest training neighbours, with the trained models of one dataset and nothing retrained.

The folder is preprocessed with the dataset's own settings (field kind, resolution, query counts,
clipping) under the layout the user names; its NFs are fitted with the settings *stored in the
dataset's neural dataset* (``fit.json``: the architecture, the fitting schedule and the shared
init's seed, checked against the stored init), so they are fitted exactly like the training NFs.
They are embedded by the trained encoder, classified by the trained classifier, and matched
against the training embeddings (Euclidean k-NN, the retrieval stage's metric). Class folders
whose names are classes of the dataset count as labels: accuracy, per-class accuracy and the
confusion matrix are reported on them; items of other folders (or of an unlabelled layout) get
predictions only. Everything is written under the caller's output folder, never into the DVC
outputs of the pipeline.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..data.prepare import DatasetParams, SplitParams, prepare_dataset
from ..encoders.rows import encode
from ..errors import BadInputError
from ..fitting.run import FitParams, NFParams, fit_dataset
from ..metrics.retrieval import knn
from ..store.embeddings import read_embeddings
from ..store.neural_dataset import NeuralDataset
from ..store.paths import Layout
from ..train.checkpoint import check_arch, load_model
from .classification import classification_metrics, load_classifier


@dataclass(frozen=True)
class TrainedDataset:
    """Where a dataset's trained artefacts are (the pipeline's outputs; read only)."""

    neural: Path          # data/neural/<d>: the training NFs (fit.json, init)
    model: Path           # models/<d>/best.safetensors
    classifier: Path      # models/<d>/classifier.safetensors
    embeddings: Path      # data/embeddings/<d>

    @classmethod
    def of(cls, root: str | Path, dataset: str) -> "TrainedDataset":
        paths = Layout(Path(root))
        return cls(paths.neural(dataset), paths.encoder(dataset), paths.classifier(dataset), paths.embeddings(dataset))


def fitting_settings(neural_dir: str | Path) -> tuple[NFParams, FitParams]:
    """The NF architecture and fitting settings the dataset's NFs were fitted with (``fit.json``)."""
    path = Path(neural_dir) / "fit.json"
    if not path.is_file():
        raise BadInputError(path, "not found: fit the dataset first (stage fit)")
    info = json.loads(path.read_text())
    try:
        return NFParams(**info["nf"]), FitParams(**info["fit"])
    except (KeyError, TypeError) as exc:
        raise BadInputError(path, f"no usable 'nf'/'fit' settings ({exc})") from exc


def folder_params(dataset: DatasetParams, root: str | Path, layout: str) -> DatasetParams:
    """The dataset's preprocessing settings applied to another folder: every item kept, no split."""
    return replace(dataset, source=layout, root=str(root), inputs=None, classes=None, n_per_class=0,
                   split=SplitParams(val=0.0, test=0.0), images=None, labels=None, carve_from=None)


def infer_folder(root: str | Path, layout: str, dataset: DatasetParams, trained: TrainedDataset,
                 out_dir: str | Path, k: int = 5) -> dict[str, Any]:
    """Predict classes and nearest training neighbours for every shape under ``root``; write
    ``predictions.csv`` (and ``metrics.json`` with accuracy, per-class accuracy and the confusion
    matrix when some items carry a known class) into ``out_dir``; return the metrics (or counts)."""
    out_dir = Path(out_dir)
    nf, fit = fitting_settings(trained.neural)
    encoder, _, meta = load_model(trained.model)
    classifier, class_names = load_classifier(trained.classifier)
    train_emb, train_index = read_embeddings(trained.embeddings)

    prepared = out_dir / "prepared"
    prepare_dataset(folder_params(dataset, root, layout), prepared)
    neural_dir = out_dir / "neural"
    fit_dataset(prepared, neural_dir, nf, fit)
    new = NeuralDataset(neural_dir)
    check_arch(meta, new.spec, trained.model)
    if not torch.equal(new.init, NeuralDataset(trained.neural).init):
        raise BadInputError(trained.neural, "the shared init differs from the training NFs' (fit.json out of date?)")

    with torch.no_grad():
        emb = encode(encoder, new.spec, new.params(), progress=False)
        prob = torch.softmax(classifier(emb), dim=-1)
    pred = prob.argmax(-1)
    train_mask = (train_index["split"] == "train").to_numpy().copy()
    gallery, gallery_index = train_emb[torch.from_numpy(train_mask)], train_index[train_mask].reset_index(drop=True)
    k = max(1, min(int(k), len(gallery_index)))
    nn_idx = knn(emb, gallery, k).cpu().numpy()

    index = new.index
    known = {c: i for i, c in enumerate(class_names)}
    truth = index["class_name"].map(known)
    rows = pd.DataFrame({
        "id": index["id"], "source": index["source"], "class_name": index["class_name"],
        "predicted": [class_names[i] for i in pred.tolist()],
        "probability": prob.max(-1).values.numpy().round(6),
        "neighbours": [";".join(gallery_index["id"].iloc[r].tolist()) for r in nn_idx],
        "neighbour_classes": [";".join(gallery_index["class_name"].iloc[r].tolist()) for r in nn_idx],
    })
    rows.to_csv(out_dir / "predictions.csv", index=False)
    labelled = truth.notna().to_numpy()
    summary: dict[str, Any] = {"count": int(len(rows)), "labelled": int(labelled.sum()),
                               "rejected": int(len(pd.read_csv(prepared / "rejected.csv"))), "k": k}
    if labelled.any():
        m = classification_metrics(pred[torch.from_numpy(labelled.copy())], truth[labelled].astype(int).to_numpy(),
                                   len(class_names), class_names)
        summary.update(accuracy=m["accuracy"], per_class_accuracy=m["per_class_accuracy"],
                       confusion=np.asarray(m["confusion"]).tolist(), classes=list(class_names))
    (out_dir / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


__all__ = ["TrainedDataset", "fitting_settings", "folder_params", "infer_folder"]
