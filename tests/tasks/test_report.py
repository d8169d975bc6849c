import json

from nf2vec_core.tasks.report import summary_markdown


def test_summary_puts_run_figures_beside_paper(tmp_path):
    (tmp_path / "classify_d.json").write_text(json.dumps({"accuracy": 0.9321}))
    (tmp_path / "retrieval_d.json").write_text(json.dumps({"hit@1": 0.8, "map@1": 0.8}))
    text = summary_markdown(tmp_path, ["d"])
    assert "| nf2vec classification accuracy | 0.9321 | 87.0 (ModelNet40)" in text
    assert "hit-rate@1" in text and "true mAP@1" in text
    assert "PointNet" not in text            # no baselines metrics -> no row
