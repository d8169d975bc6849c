"""The ``weightspace`` params section loads strictly into typed configs."""
from __future__ import annotations

import pytest

from nf2vec_core.config import from_dict, load_section
from nf2vec_core.errors import ConfigError
from nf2vec_core.weightspace.gnn import GNNConfig
from nf2vec_core.weightspace.params import WeightspaceParams

SECTION = {
    "models": ["gnn", "mlp"],
    "gnn": {"hidden": 64, "steps": 4, "node_mlp_layers": 3, "node_mlp_hidden": 256, "edge_mlp_layers": 2,
            "edge_mlp_hidden": 256, "readout_hidden": 256, "dropout": 0.0, "normalize": True,
            "aggregation": "sqrt_degree"},
    "mlp": {"hidden": [512, 256], "dropout": 0.1, "standardize": True},
    "train": {"lr": "1e-3", "weight_decay": 0.01, "epochs": 100, "batch_size": 32, "schedule": "onecycle",
              "grad_clip": 1.0, "seed": 0},
    "connectivity_pairs": 4,
    "connectivity_steps": 11,
}


def test_section_loads_and_round_trips():
    p = load_section({"weightspace": SECTION}, "weightspace", WeightspaceParams)
    assert p.models == ("gnn", "mlp") and p.gnn == GNNConfig() and p.mlp.hidden == (512, 256)
    assert p.train.lr == pytest.approx(1e-3)
    assert from_dict(WeightspaceParams, p.to_dict(), "weightspace") == p
    assert load_section({"weightspace": {}}, "weightspace", WeightspaceParams) == WeightspaceParams()


@pytest.mark.parametrize("patch, key", [
    ({"gnn": {"hiden": 3}}, "weightspace.gnn.hiden"),
    ({"models": ["gnn", "cnn"]}, "weightspace.models"),
    ({"models": []}, "weightspace.models"),
    ({"train": {"schedule": "linear"}}, "weightspace.train.schedule"),
    ({"gnn": {"steps": -1}}, "weightspace.gnn.steps"),
    ({"connectivity_steps": 1}, "weightspace.connectivity_steps"),
    ({"seeds": [0, 0]}, "weightspace.seeds"),
    ({"seeds": [-1]}, "weightspace.seeds"),
])
def test_bad_values_name_the_key(patch, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_section({"weightspace": patch}, "weightspace", WeightspaceParams)


def test_run_seeds_default_to_the_train_seed():
    assert load_section({"weightspace": {"train": {"seed": 7}}}, "weightspace", WeightspaceParams).run_seeds == (7,)
    p = load_section({"weightspace": {"seeds": [2, 0, 1]}}, "weightspace", WeightspaceParams)
    assert p.run_seeds == (2, 0, 1) and from_dict(WeightspaceParams, p.to_dict(), "weightspace") == p
