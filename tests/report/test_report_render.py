import base64

import pytest

from nf2vec_core.errors import BadInputError
from nf2vec_core.report.render import Figure, Link, Page, Section, Table, embed_png, fmt, to_html, to_markdown

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def _page(tmp_path):
    (tmp_path / "plots").mkdir()
    img = tmp_path / "plots" / "a.png"
    img.write_bytes(PNG)
    sec = Section("Classification", "Accuracy `x`.", [Table(["metric", "this run"], [["acc", fmt(0.912345)]])],
                  [Figure("Confusion", img)])
    return Page("Title", "Intro.", {"commit": "abc1234", "date": "2026-01-02", "hardware": "cpu"}, [sec],
                [Link("NeRF", "nerf.html", "results-nerf.md")])


def test_markdown_has_provenance_table_and_relative_figure(tmp_path):
    md = to_markdown(_page(tmp_path), "../plots")
    assert "commit `abc1234` on 2026-01-02, on cpu" in md
    assert "| acc | 0.9123 |" in md
    assert "![Confusion](../plots/a.png)" in md
    assert "[NeRF](results-nerf.md)" in md


def test_html_embeds_figures_and_escapes_text(tmp_path):
    page = to_html(_page(tmp_path))
    assert '<section id="classification"><h2>Classification</h2>' in page
    assert "data:image/png;base64," + base64.b64encode(PNG).decode() in page
    assert "Accuracy <code>x</code>." in page
    assert 'href="nerf.html"' in page and "../plots" not in page


def test_embed_refuses_missing_or_non_png(tmp_path):
    with pytest.raises(BadInputError, match="not found"):
        embed_png(tmp_path / "none.png")
    (tmp_path / "x.png").write_text("text")
    with pytest.raises(BadInputError, match="not a PNG"):
        embed_png(tmp_path / "x.png")


def test_fmt():
    assert fmt(None) == "—" and fmt(3) == "3" and fmt(0.123456) == "0.1235"
