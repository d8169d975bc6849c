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


def test_the_summary_says_what_the_data_is(tmp_path):
    from nf2vec_core.data.prepare import DatasetParams
    (tmp_path / "fit_m.json").write_text(json.dumps({"count": 3, "mean_chamfer": 0.002, "mean_udf_mae": 0.01}))
    real = DatasetParams(source="pointclouds", field="udf", root="../shared/data/modelnet40-pc1024",
                         carve_from="train", classes=["bed", "chair"])
    text = summary_markdown(tmp_path, ["m"], {"m": real})
    assert "`modelnet40-pc1024` (pointclouds, 2 of its classes, udf fields)" in text
    assert "carved (stratified, seeded) from its official `train` folder" in text and "procedural" not in text
    assert "| NF fit: Chamfer to the input cloud (UDF) | 0.002 |" in text and "occupancy IoU" not in text
    generated = summary_markdown(tmp_path, ["m"], {"m": DatasetParams()})
    assert "procedural shapes the project generates (occupancy fields)" in generated
