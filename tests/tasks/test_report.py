import json

from nf2vec_core.tasks.report import summary_markdown


def test_summary_puts_run_figures_beside_paper(tmp_path):
    (tmp_path / "classify_d.json").write_text(json.dumps({"accuracy": 0.9321}))
    (tmp_path / "retrieval_d.json").write_text(json.dumps({"hit@1": 0.8, "map@1": 0.8}))
    text = summary_markdown(tmp_path, ["d"])
    assert "| nf2vec classification accuracy | 0.9321 | 87.0 (ModelNet40)" in text
    assert "hit-rate@1" in text and "true mAP@1" in text
    assert "PointNet" not in text            # no baselines metrics -> no row


def test_value_text_shows_mean_and_std_over_seeds():
    from nf2vec_core.tasks.report import value_text
    assert value_text({"accuracy": 0.9}, "accuracy") == "0.9"
    assert value_text({"accuracy": 0.9, "accuracy_std": 0.01, "seeds": [0, 1, 2]}, "accuracy") == "0.9 ± 0.01 (3 seeds)"
