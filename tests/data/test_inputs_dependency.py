"""Each dataset's input files are a DVC dependency of its preprocessing stage."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nf2vec_core.config import load_section
from nf2vec_core.data.prepare import DatasetParams
from nf2vec_core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _entries():
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    yield from (("datasets", k, v) for k, v in params["datasets"].items())
    yield from (("arena.datasets", k, v) for k, v in params["arena"]["datasets"].items())


@pytest.mark.parametrize("section,key,entry", list(_entries()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_dataset_names_its_inputs(section, key, entry):
    assert entry.get("inputs"), f"{section}.{key} has no 'inputs' (dvc.yaml watches it)"
    if entry.get("root"):
        assert Path(entry["inputs"]) == Path(entry["root"])
    else:
        assert (ROOT / entry["inputs"]).is_file()            # the module that generates or reads them


def test_preprocessing_stages_depend_on_the_inputs():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name in ("preprocess", "arena_prepare"):
        assert "${item.inputs}" in stages[name]["do"]["deps"], name


def test_inputs_other_than_the_root_are_refused():
    with pytest.raises(ConfigError, match="inputs"):
        load_section({"d": {"source": "mnist", "field": "pixels", "root": "/a", "inputs": "/b"}}, "d", DatasetParams)
    load_section({"d": {"source": "mnist", "field": "pixels", "root": "/a", "inputs": "/a/"}}, "d", DatasetParams)
