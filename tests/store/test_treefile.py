"""Model files without pickle: tree round trips, and a malicious pickle that must not run."""
from __future__ import annotations

import math
import pickle

import pytest
import torch

from nf2vec_core.errors import BadInputError
from nf2vec_core.store.treefile import decode_tree, encode_tree, load_tree, save_tree
from nf2vec_core.train.checkpoint import load_checkpoint


def test_a_training_state_round_trips_exactly(tmp_path):
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    net(torch.randn(5, 3)).sum().backward()
    opt.step()
    tree = {"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": 3, "best": math.inf,
            "history": [{"epoch": 0, "loss": 0.5}], "rng": torch.get_rng_state(), "none": None,
            "shape": (2, 3), "ids": {0: "a", 7: "b"}}
    save_tree(tmp_path / "s.safetensors", tree)
    back = load_tree(tmp_path / "s.safetensors")
    assert back["epoch"] == 3 and back["best"] == math.inf and back["none"] is None
    assert back["shape"] == [2, 3] and back["ids"] == {0: "a", 7: "b"}
    assert back["history"] == tree["history"] and torch.equal(back["rng"], tree["rng"])
    assert all(torch.equal(back["model"][k], v) for k, v in tree["model"].items())
    opt2 = torch.optim.AdamW(net.parameters(), lr=1e-3)
    opt2.load_state_dict(back["optimizer"])                     # integer-keyed state survives
    assert torch.equal(opt2.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])


def test_same_tree_same_bytes(tmp_path):
    tree = {"w": torch.arange(6.0).reshape(2, 3), "meta": {"a": [1, 2]}}
    save_tree(tmp_path / "a.safetensors", tree)
    save_tree(tmp_path / "b.safetensors", tree)
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()


def test_reserved_keys_and_unsupported_values():
    text, tensors = encode_tree({"__tensor__": 1})                # a dict key that looks like a marker
    assert decode_tree(text, tensors) == {"__tensor__": 1}
    with pytest.raises(TypeError, match="object"):
        encode_tree({"x": object()})


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_malicious_pickle_checkpoint_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "best.safetensors"
    path.write_bytes(pickle.dumps({"meta": _Exploit(marker), "encoder": {}}))
    torch.save({"meta": _Exploit(marker), "encoder": {}}, tmp_path / "best.pt")
    assert not marker.exists()
    for p in (path, tmp_path / "best.pt"):
        with pytest.raises(BadInputError, match="pickled .pt checkpoints are refused"):
            load_checkpoint(p)
    assert not marker.exists()


def test_other_safetensors_files_and_truncation_are_refused(tmp_path):
    from safetensors.torch import save_file
    save_file({"x": torch.ones(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(BadInputError, match="not an nf2vec model file"):
        load_tree(tmp_path / "plain.safetensors")
    save_tree(tmp_path / "ok.safetensors", {"x": torch.ones(100)})
    data = (tmp_path / "ok.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(BadInputError, match="cut.safetensors"):
        load_tree(tmp_path / "cut.safetensors")
    with pytest.raises(BadInputError, match="not found"):
        load_tree(tmp_path / "missing.safetensors")
