"""Write reports/summary.md: this run's figures beside the papers' numbers."""
from __future__ import annotations

from _common import ROOT, parser, params, run

from nf2vec_core.store.io import write_text
from nf2vec_core.tasks.report import summary_markdown


def main() -> None:
    ap = parser(__doc__)
    args = ap.parse_args()
    datasets = list(params(args)["pipeline"]["datasets"])
    text = summary_markdown(ROOT / "metrics", datasets)
    write_text(ROOT / "reports" / "summary.md", text)
    print(text)


if __name__ == "__main__":
    run(main)
