import pytest
import torch

from nf2vec_core.errors import ConfigError
from nf2vec_core.fields.kinds import KINDS, check_kind, field_prediction


def test_field_prediction_conventions() -> None:
    raw = torch.tensor([[-20.0], [0.0], [20.0]])
    torch.testing.assert_close(field_prediction("udf", raw, 0.1), torch.tensor([[0.0], [0.05], [0.1]]),
                               atol=1e-6, rtol=0)
    torch.testing.assert_close(field_prediction("occupancy", raw), torch.sigmoid(raw))
    assert field_prediction("sdf", raw) is raw
    assert field_prediction("pixels", raw) is raw


def test_unknown_kind_is_a_config_error() -> None:
    assert [check_kind(k) for k in KINDS] == list(KINDS)
    with pytest.raises(ConfigError, match="nerf"):
        check_kind("nerf")
    with pytest.raises(ConfigError):
        field_prediction("nerf", torch.zeros(1))
