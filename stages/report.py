"""Write reports/summary_<dataset>.md: this run's figures beside the papers' numbers."""
from __future__ import annotations

from _common import PATHS, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.data.prepare import DatasetParams
from nf2vec_core.store.io import write_text
from nf2vec_core.tasks.report import summary_markdown


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True, help="a dataset of pipeline.datasets")
    args = ap.parse_args()
    dataset = load_section(params(args), f"datasets.{args.dataset}", DatasetParams)
    text = summary_markdown(PATHS.metrics_dir(), [args.dataset], {args.dataset: dataset})
    write_text(PATHS.reports_dir() / f"summary_{args.dataset}.md", text)
    print(text)


if __name__ == "__main__":
    run(main)
