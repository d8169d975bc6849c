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
