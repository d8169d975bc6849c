import json

import pytest
from PIL import Image

from nf2vec_core.errors import BadInputError
from nf2vec_core.report.pages import default_page
from nf2vec_core.report.time_charts import draw_nerf_timing, plot_stacked_bars
from nf2vec_core.store.io import read_csv_rows


def test_stacked_bars_writes_a_png(tmp_path):
    out = plot_stacked_bars({"a": {"x": 1.0, "y": 2.0}, "b": {"x": 3.0}}, tmp_path / "bars.png",
                            xlabel="s", title="t")
    with Image.open(out) as img:
        assert img.format == "PNG" and img.size[0] > 100


def test_stacked_bars_refuses_nothing(tmp_path):
    with pytest.raises(BadInputError, match="nothing to draw"):
        plot_stacked_bars({}, tmp_path / "x.png", xlabel="s", title="t")


def test_nerf_timing_needs_its_table(tmp_path):
    with pytest.raises(BadInputError, match="nerf_timing.csv"):
        draw_nerf_timing(tmp_path)
    (tmp_path / "nerf_timing.csv").write_text("method,encoding_ms,rendering_ms,classification_ms\nnf2vec,1,0,0.1\n")
    assert draw_nerf_timing(tmp_path).is_file()
    assert read_csv_rows(tmp_path / "nerf_timing.csv")[0]["method"] == "nf2vec"


def test_default_page_of_a_partial_run(tmp_path):
    (tmp_path / "classify_d.json").write_text(json.dumps({"accuracy": 0.5, "per_class_accuracy": {"a": 0.5}}))
    (tmp_path / "timing_d.json").write_text(json.dumps({"pointnet_ms": {"2048": 4.5}}))
    page = default_page(tmp_path, tmp_path, "d", {"commit": "x"})
    rows = [r for s in page.sections for t in s.tables for r in t.rows]
    assert ["nf2vec classification accuracy", "0.5", "87.0 (ModelNet40), 93.3 (ShapeNet10)",
            "Zama Ramirez et al. 2024, Table III"] in rows
    assert ["a", "0.5", "—", "—"] in rows
    assert ["PointNet on 2,048 points (ms)", "4.5", "—", "—"] in rows   # latencies of a timing stage
    assert not any(s.figures for s in page.sections)   # no plots: no figures


def test_shape_tasks_page_from_its_metrics(tmp_path):
    from nf2vec_core.report.pages import shape_tasks_page
    seg = {"seeds": [0, 1], "nf2vec": {"instance_miou": 0.7, "instance_miou_std": 0.01},
           "pointnet": {"instance_miou": 0.85, "instance_miou_std": 0.02}, "class_prior": {"instance_miou": 0.72}}
    (tmp_path / "part_seg_d.json").write_text(json.dumps(seg))
    (tmp_path / "part_seg_d.csv").write_text("category,nf2vec_miou,pointnet_miou,class_prior_miou\nmug,0.5,0.6,\n")
    (tmp_path / "shape_generation_d.json").write_text(json.dumps(
        {"chamfer": {"latent_gan": {"mmd": 0.1, "coverage": 0.3, "1nna": 0.9}}, "empty_share": {"latent_gan": 0.25}}))
    (tmp_path / "completion_d.json").write_text(json.dumps({"scores": {"partial_input": {"chamfer": 0.02, "fscore": 0.4}}}))
    page = shape_tasks_page(tmp_path, tmp_path, "d", {"commit": "x"})
    rows = [r for s in page.sections for t in s.tables for r in t.rows]
    assert ["part decoder on nf2vec embeddings", "0.7 ± 0.01 (2 seeds)", "—", "—", "81.3 / 76.9 (ShapeNet-Part)"] in rows
    assert rows[2][:2] == ["control: the part decoder on zero embeddings (point and category only)", "0.72"]
    assert ["mug", "0.5", "0.6", "—"] in rows
    assert ["latent GAN", "0.1", "0.3", "0.9", "0.25"] in rows
    assert ["the partial input itself", "0.02", "0.4"] in rows
    assert [s.title for s in page.sections] == ["Part segmentation", "Generation", "Completion"]


def test_field_kinds_page_from_its_metrics(tmp_path):
    from nf2vec_core.report.pages import field_kinds_page
    (tmp_path / "fit_occ.json").write_text(json.dumps({"mean_iou": 0.9}))
    (tmp_path / "fit_u.json").write_text(json.dumps({"mean_chamfer": 0.005}))
    (tmp_path / "classify_u.json").write_text(json.dumps({"accuracy": 0.8, "accuracy_std": 0.02, "seeds": [0, 1, 2]}))
    (tmp_path / "reconstruct_u.json").write_text(json.dumps({"nf_chamfer": 0.004, "nf_fscore": 0.3,
                                                             "nf2vec_chamfer": 0.05, "nf2vec_fscore": 0.1}))
    (tmp_path / "field_map_m.json").write_text(json.dumps({
        "source_kind": "udf", "target_kind": "sdf", "watertight_share": 0.75, "empty_share": 0.0,
        "scores": {"nf2vec_mapping": {"chamfer": 0.06, "fscore": 0.1}, "nearest_train": {"chamfer": 0.07, "fscore": 0.05}}}))
    page = field_kinds_page(tmp_path, tmp_path, ["occ", "u"], "m", {"commit": "x"})
    rows = [r for s in page.sections for t in s.tables for r in t.rows]
    assert ["`occ`", "IoU 0.9", "—", "— / —", "— / —"] in rows                 # a dataset whose stages did not all run
    assert ["`u`", "Chamfer 0.005", "0.8 ± 0.02 (3 seeds)", "0.004 / 0.3", "0.05 / 0.1"] in rows
    assert ["nf2vec: UDF embedding → transfer MLP → SDF decoder", "0.06", "0.1"] in rows
    assert ["closed (watertight)", "0.75"] in rows and len([r for r in rows if r[0].startswith("the ")]) == 0
    assert [s.title for s in page.sections] == ["Field kinds", "Mapping between field kinds"]
    assert page.sections[1].tables[0].header[0] == "UDF → SDF of the test shapes"
