"""Where the pipeline's data, models, metrics and figures live under a project root.

The one place the stage scripts (and :mod:`nf2vec_core.tasks.inference`) take their paths from;
``dvc.yaml`` declares the same paths to DVC and ``tests/store/test_paths.py`` checks the two agree.
Timings sit beside metrics (:func:`nf2vec_core.store.results.timings_path`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .results import timings_path


@dataclass(frozen=True)
class Layout:
    """The paths under project ``root`` (e.g. ``Layout(ROOT).neural("shapes")`` is ``data/neural/shapes``)."""
    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    def _data(self, *parts: str) -> Path:
        return self.root.joinpath("data", *parts)

    # -- data/
    def prepared(self, dataset: str) -> Path:
        """Ground-truth fields of a dataset (``preprocess``)."""
        return self._data("prepared", dataset)

    def neural(self, dataset: str) -> Path:
        """The neural dataset: one fitted NF per item (``fit``)."""
        return self._data("neural", dataset)

    def neural_views(self, dataset: str) -> Path:
        """Re-fits of the items under random transforms (``fit_views``)."""
        return self._data("neural_views", dataset)

    def embeddings(self, dataset: str) -> Path:
        """nf2vec embeddings of a neural dataset (``embed``; ``nerf``: ``train_nerf_encoder``)."""
        return self._data("embeddings", dataset)

    def views(self, dataset: str) -> Path:
        """Rendered views of a dataset's shapes (``render_views``)."""
        return self._data("views", dataset)

    def nerfs(self, dataset: str) -> Path:
        """NeRFs fitted to the rendered views (``fit_nerf``)."""
        return self._data("nerf", dataset)

    def arena_prepared(self, dataset: str) -> Path:
        return self._data("arena", "prepared", dataset)

    def arena_neural(self, run: str | None = None) -> Path:
        """The arena's neural datasets (one per run; all of them without ``run``)."""
        return self._data("arena", "neural", *([run] if run else []))

    # -- models/
    def models(self, dataset: str) -> Path:
        return self.root / "models" / dataset

    def encoder(self, dataset: str) -> Path:
        """The best nf2vec encoder/decoder checkpoint of a dataset (``train_encoder``)."""
        return self.models(dataset) / "best.safetensors"

    def classifier(self, dataset: str) -> Path:
        """The embedding classifier of a dataset (``classify``; ``nerf``: ``nerf_tasks``)."""
        return self.models(dataset) / "classifier.safetensors"

    def nerf_encoder(self) -> Path:
        """nf2vec trained on NeRFs (``train_nerf_encoder``)."""
        return self.models("nerf") / "nf2vec.safetensors"

    # -- metrics/, timings/, plots/, reports/, docs/
    def metrics_dir(self, *sub: str) -> Path:
        return self.root.joinpath("metrics", *sub)

    def metrics(self, stem: str, dataset: str | None = None) -> Path:
        """``metrics/<stem>_<dataset>.json`` (``metrics/<stem>.json`` without a dataset)."""
        return self.metrics_dir() / _json(stem, dataset)

    def timings(self, stem: str, dataset: str | None = None) -> Path:
        """Where :func:`~nf2vec_core.store.results.write_results` puts the run times of :meth:`metrics`."""
        return timings_path(self.metrics(stem, dataset))

    def plots_dir(self, *sub: str) -> Path:
        return self.root.joinpath("plots", *sub)

    def plot(self, stem: str, dataset: str | None = None, ext: str = "png") -> Path:
        """``plots/<stem>_<dataset>.<ext>`` (``plots/<stem>.<ext>`` without a dataset)."""
        return self.plots_dir() / f"{stem}_{dataset}.{ext}" if dataset else self.plots_dir() / f"{stem}.{ext}"

    def reports_dir(self) -> Path:
        return self.root / "reports"

    def docs_dir(self) -> Path:
        return self.root / "docs"


def _json(stem: str, dataset: str | None) -> str:
    return f"{stem}_{dataset}.json" if dataset else f"{stem}.json"
