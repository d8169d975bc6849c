"""Mean ± std over seeds."""
from __future__ import annotations

import pytest

from nf2vec_core.config import load_section
from nf2vec_core.errors import ConfigError
from nf2vec_core.tasks.seeds import EvaluationParams, mean_of_dicts, mean_std, over_seeds


def test_mean_std_and_dict_means():
    assert mean_std([0.9, 0.8, 1.0]) == {"mean": pytest.approx(0.9), "std": pytest.approx(0.0816497, rel=1e-5),
                                         "values": [0.9, 0.8, 1.0]}
    assert mean_of_dicts([{"a": 1.0, "b": None}, {"a": 0.0, "b": 0.5}]) == {"a": 0.5, "b": None}


def test_over_seeds_runs_each_seed_in_order():
    assert over_seeds(lambda s: {"seed": s}, [3, 1]) == [{"seed": 3}, {"seed": 1}]


@pytest.mark.parametrize("seeds", [[], [1, 1], [-1, 2]])
def test_bad_seed_lists_are_refused(seeds):
    with pytest.raises(ConfigError, match="evaluation.seeds"):
        load_section({"evaluation": {"seeds": seeds}}, "evaluation", EvaluationParams)
    assert load_section({"evaluation": {"seeds": [0, 1, 2]}}, "evaluation", EvaluationParams).seeds == [0, 1, 2]
