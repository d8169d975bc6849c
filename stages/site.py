"""Write one pipeline's results page: reports/<page>.html (self-contained), docs/results*.md and its timing figure."""
from __future__ import annotations

from _common import PATHS, ROOT, parser, run

from nf2vec_core.report.pages import PAGES, arena_page, default_page, field_kinds_page, nerf_page, shape_tasks_page
from nf2vec_core.report.provenance import provenance
from nf2vec_core.report.render import to_html, to_markdown
from nf2vec_core.report.time_charts import draw_arena_times, draw_nerf_timing, draw_stage_times
from nf2vec_core.store.io import write_text


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--page", required=True, choices=sorted(PAGES), help="which pipeline's page")
    ap.add_argument("--dataset", default="shapes", help="the dataset of the default and shape-task pages")
    ap.add_argument("--datasets", nargs="*", default=[], help="the field-kinds page: its datasets")
    ap.add_argument("--field-map", default="", help="the field-kinds page: a key of pipeline.field_maps")
    args = ap.parse_args()
    metrics, plots, prov = PATHS.metrics_dir(), PATHS.plots_dir(), provenance(ROOT)
    if args.page == "default":
        draw_stage_times(metrics, plots, args.dataset)
        page = default_page(metrics, plots, args.dataset, prov)
    elif args.page == "shape_tasks":
        page = shape_tasks_page(metrics, plots, args.dataset, prov)
    elif args.page == "field_kinds":
        page = field_kinds_page(metrics, plots, args.datasets, args.field_map, prov)
    elif args.page == "nerf":
        draw_nerf_timing(plots)
        page = nerf_page(metrics, plots, prov)
    else:
        draw_arena_times(PATHS.reports_dir(), plots)
        page = arena_page(metrics, plots, PATHS.reports_dir(), prov)
    html_name, md_name, _ = PAGES[args.page]
    write_text(PATHS.reports_dir() / html_name, to_html(page))
    write_text(PATHS.docs_dir() / md_name, to_markdown(page, "../plots"))
    print(f"wrote reports/{html_name} and docs/{md_name}")


if __name__ == "__main__":
    run(main)
