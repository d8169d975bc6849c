import pandas as pd
import pytest
import torch

from nf2vec_core.errors import BadInputError
from nf2vec_core.nf.init import init_vector
from nf2vec_core.nf.layout import ArchSpec
from nf2vec_core.store import neural_dataset as store


def _rows(a, b):
    return pd.DataFrame({"id": [f"x{i}" for i in range(a, b)], "source": "s", "class_name": "c",
                         "class_id": 0, "split": "train", "fit_loss": 0.1})


def test_write_read_lazy_and_resume(tmp_path):
    spec = ArchSpec("siren", hidden=8, depth=2)
    store.write_header(tmp_path, spec, init_vector(spec, 0), {"note": "t"})
    params = torch.randn(10, spec.num_params)
    store.write_shard(tmp_path, 0, params[:4], _rows(0, 4))
    with pytest.raises(BadInputError, match="shards \\[1, 2\\] missing"):
        store.finalize(tmp_path, 3)
    assert store.completed_shards(tmp_path) == {0}
    store.write_shard(tmp_path, 2, params[8:], _rows(8, 10))   # another machine's part
    store.write_shard(tmp_path, 1, params[4:8], _rows(4, 8))
    store.finalize(tmp_path, 3)
    ds = store.NeuralDataset(tmp_path)
    assert len(ds) == 10 and ds.spec == spec
    assert torch.equal(ds.params(), params)
    assert torch.equal(ds.params([9, 0, 5]), params[[9, 0, 5]])
    assert torch.equal(ds.init, init_vector(spec, 0))
    assert not list(tmp_path.rglob("*.tmp"))                    # nothing half-written


def test_nan_params_and_wrong_arch_are_refused(tmp_path):
    spec = ArchSpec("siren", hidden=8, depth=2)
    store.write_header(tmp_path, spec, init_vector(spec, 0), {})
    bad = torch.zeros(2, spec.num_params)
    bad[1, 3] = float("nan")
    with pytest.raises(BadInputError, match="x1: fitted parameters contain NaN"):
        store.write_shard(tmp_path, 0, bad, _rows(0, 2))
    with pytest.raises(BadInputError, match="different architecture"):
        store.write_header(tmp_path, ArchSpec("siren", hidden=16, depth=2), init_vector(spec, 0), {})
    with pytest.raises(BadInputError, match="index.csv: not found"):
        store.NeuralDataset(tmp_path)


def test_views_are_found_in_order_and_looked_up_by_id(tmp_path):
    spec = ArchSpec("siren", hidden=8, depth=2)
    assert store.load_views(tmp_path / "none") == []
    assert store.view_params([], ["x0"]) is None
    params = {}
    for v in (2, 1, 10):          # numeric order, not lexicographic
        d = tmp_path / f"view{v}"
        store.write_header(d, spec, init_vector(spec, 0), {})
        params[v] = torch.randn(3, spec.num_params)
        store.write_shard(d, 0, params[v], _rows(0, 3).assign(view=v))
        store.finalize(d, 1)
    views = store.load_views(tmp_path)
    assert [v.root.name for v in views] == ["view1", "view2", "view10"]
    got = store.view_params(views, ["x2", "x0"])
    assert got.shape == (3, 2, spec.num_params)
    assert torch.equal(got[0], params[1][[2, 0]]) and torch.equal(got[2], params[10][[2, 0]])
    with pytest.raises(BadInputError, match="view1.*lacks 1 items.*'x7'"):
        store.view_params(views, ["x0", "x7"])
