from pathlib import Path

import pytest

from nf2vec_core.config import load_section, read_params
from nf2vec_core.data.prepare import DatasetParams
from nf2vec_core.errors import ConfigError
from nf2vec_core.fitting.run import FitParams, NFParams

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_default_params_load():
    p = read_params(REPO_ROOT / "params.yaml")
    assert load_section(p, "nf", NFParams).family == "siren"
    assert load_section(p, "fit", FitParams).steps > 0
    for name in p["datasets"]:
        load_section(p, f"datasets.{name}", DatasetParams)


def test_missing_mistyped_unknown_params_fail_fast_with_the_name():
    with pytest.raises(ConfigError, match="missing param 'fit'"):
        load_section({}, "fit", FitParams)
    with pytest.raises(ConfigError, match="'fit.steps': expected an integer"):
        load_section({"fit": {"steps": "many"}}, "fit", FitParams)
    with pytest.raises(ConfigError, match="unknown param 'fit.stpes'"):
        load_section({"fit": {"stpes": 3}}, "fit", FitParams)
    with pytest.raises(ConfigError, match="'fit.init'"):
        load_section({"fit": {"init": "sometimes"}}, "fit", FitParams)
    with pytest.raises(ConfigError, match="datasets.a.split.val"):
        load_section({"datasets": {"a": {"split": {"val": "x"}}}}, "datasets.a", DatasetParams)
    assert load_section({"fit": {"lr": "1e-3"}}, "fit", FitParams).lr == 1e-3


def test_missing_params_file(tmp_path):
    with pytest.raises(ConfigError, match="params file not found"):
        read_params(tmp_path / "nope.yaml")


def test_paper_overlay_merges_into_params_and_validates(tmp_path):
    from nf2vec_core.config import apply_overlay, dump_params
    from nf2vec_core.tasks.classification import ClassifierConfig
    from nf2vec_core.decoders.implicit import ImplicitDecoderConfig
    from nf2vec_core.train.params import EncoderParams
    from nf2vec_core.weightspace.params import WeightspaceParams

    base = read_params(REPO_ROOT / "params.yaml")
    p = apply_overlay(REPO_ROOT / "params.yaml", REPO_ROOT / "configs" / "paper.yaml")
    assert list(p) == list(base)                                            # same sections, same order
    nf = load_section(p, "nf", NFParams)
    assert (nf.family, nf.hidden, nf.depth) == (base["nf"]["family"], 512, 4)  # overlay values; the rest kept
    fit = load_section(p, "fit", FitParams)
    assert (fit.steps, fit.lr, fit.points_per_step, fit.shard_size) == (500, 1e-4, 10000, 1024)
    assert fit.init == base["fit"]["init"]
    shapes = load_section(p, "datasets.shapes", DatasetParams)
    assert (shapes.n_per_class, shapes.resolution) == (1000, 64) and shapes.source == base["datasets"]["shapes"]["source"]
    enc = load_section(p, "encoder", EncoderParams)
    assert (tuple(enc.hidden), enc.embed_dim, enc.include_input) == ((512, 512, 1024, 1024), 1024, False)
    dec = load_section(p, "decoder", ImplicitDecoderConfig)
    assert (dec.hidden, dec.layers, dec.pe_freqs) == (512, 5, 8)
    assert list(load_section(p, "classifier", ClassifierConfig).hidden) == [1024, 512, 128]
    ws = load_section(p, "weightspace", WeightspaceParams)
    assert (ws.gnn.steps, ws.gnn.hidden, ws.train.epochs) == (4, 64, 100)
    assert p["arena"] == base["arena"] and p["nerf"] == base["nerf"]        # sections the overlay leaves alone

    out = tmp_path / "params.yaml"                                          # what stages/use_params.py writes
    out.write_text(dump_params(p))
    assert read_params(out) == p


def test_an_overlay_key_params_lack_is_an_error(tmp_path):
    from nf2vec_core.config import apply_overlay
    (tmp_path / "overlay.yaml").write_text("nf:\n  hiden: 64\n")
    with pytest.raises(ConfigError, match=r"overlay.yaml: unknown param 'nf.hiden'"):
        apply_overlay(REPO_ROOT / "params.yaml", tmp_path / "overlay.yaml")


def test_overrides_replace_keys_before_the_section_is_checked():
    p = read_params(REPO_ROOT / "params.yaml")
    fit = load_section(p, "arena.fit", FitParams, {"steps": 7, "init": "random"})
    assert (fit.steps, fit.init, fit.lr) == (7, "random", p["arena"]["fit"]["lr"])
    with pytest.raises(ConfigError, match="param 'arena.fit.steps' must be a positive integer"):
        load_section(p, "arena.fit", FitParams, {"steps": 0})


def test_paper_modelnet40_overlay_after_the_paper_one(tmp_path):
    """configs/paper-modelnet40.yaml on top of configs/paper.yaml: ModelNet40 UDF fields alone, at the
    paper's NF, encoder and decoder sizes, with the paper's query pool."""
    from nf2vec_core.config import apply_overlay, dump_params
    from nf2vec_core.decoders.implicit import ImplicitDecoderConfig
    from nf2vec_core.train.params import EncoderParams

    staged = tmp_path / "params.yaml"
    staged.write_text(dump_params(apply_overlay(REPO_ROOT / "params.yaml", REPO_ROOT / "configs" / "paper.yaml")))
    p = apply_overlay(staged, REPO_ROOT / "configs" / "paper-modelnet40.yaml")
    assert p["pipeline"]["datasets"] == ["modelnet40"]
    mn = load_section(p, "datasets.modelnet40", DatasetParams)
    assert (mn.field, mn.carve_from, mn.n_queries, mn.n_offgrid) == ("udf", "train", 100000, 50000)
    nf = load_section(p, "nf", NFParams)
    assert (nf.family, nf.hidden, nf.depth) == ("siren", 512, 4)
    enc = load_section(p, "encoder", EncoderParams)
    assert (tuple(enc.hidden), enc.embed_dim) == ((512, 512, 1024, 1024), 1024)
    assert (load_section(p, "decoder", ImplicitDecoderConfig).layers, load_section(p, "decoder", ImplicitDecoderConfig).hidden) == (5, 512)


def test_baselines_train_as_often_as_the_headline_classifier():
    p = read_params(REPO_ROOT / "params.yaml")
    assert p["weightspace"]["seeds"] == p["evaluation"]["seeds"]
