"""nf2vec training: a tiny end-to-end run, checkpoints, resume after a kill, model reloading."""
from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from nf2vec_core.decoders.implicit import ImplicitDecoderConfig
from nf2vec_core.encoders.rows import RowEncoderConfig, encode
from nf2vec_core.errors import BadInputError, ConfigError
from nf2vec_core.train.checkpoint import load_checkpoint, load_model
from nf2vec_core.train.trainer import FieldDataset, TrainConfig, train_nf2vec

ENC = RowEncoderConfig(hidden=(32, 32, 64), embed_dim=32)
DEC = ImplicitDecoderConfig(hidden=32, layers=4, pe_freqs=2)


def make_toy(n=24, m=512, kind="udf", seed=0):
    """``n`` "NFs" of spheres of random radii: params = shared SIREN init moved along a fixed
    direction by the radius (so the weights encode the shape), fields = the sphere's UDF/SDF/occupancy."""
    import torch

    from nf2vec_core.nf.init import init_vector
    from nf2vec_core.nf.layout import ArchSpec
    from nf2vec_core.train.trainer import FieldDataset

    spec = ArchSpec(family="siren", depth=3, hidden=16)
    g = torch.Generator().manual_seed(seed)
    radii = 0.3 + 0.5 * torch.rand(n, generator=g)
    base, direction = init_vector(spec, 0), init_vector(spec, 1)
    params = base + (radii[:, None] - 0.55) * 4 * direction + 0.01 * torch.randn(n, spec.num_params, generator=g)
    coords = torch.rand(n, m, 3, generator=g) * 2 - 1
    dist = coords.norm(dim=-1) - radii[:, None]
    values = {"udf": dist.abs(), "sdf": dist, "occupancy": (dist < 0).float()}[kind].unsqueeze(-1)
    return spec, FieldDataset(params, coords, values, labels=(radii > 0.55).long())


CFG = TrainConfig(epochs=3, batch_size=4, lr=3e-3, weight_decay=1e-4, queries_per_item=256, seed=0,
                  log_every=2, val_every=1, schedule="cosine")


def test_end_to_end_training_reduces_the_loss_and_reloads(tmp_path: Path) -> None:
    spec, train = make_toy(24, seed=0)
    _, val = make_toy(8, seed=1)
    res = train_nf2vec(train, val, spec, "udf", ENC, DEC, CFG, tmp_path, device="cpu")
    hist = res["history"]
    assert [h["epoch"] for h in hist] == [0, 1, 2]
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    assert hist[-1]["val_loss"] < hist[0]["val_loss"]
    assert res["best_val_loss"] == min(h["val_loss"] for h in hist)
    for name in ("last.safetensors", "best.safetensors", "history.csv"):
        assert (tmp_path / name).is_file()
    assert not list(tmp_path.glob(".*tmp*"))
    rows = list(csv.DictReader((tmp_path / "history.csv").open()))
    assert len(rows) == 3 and float(rows[2]["train_loss"]) == pytest.approx(hist[2]["train_loss"])
    assert "seconds" not in rows[0] and all(h["seconds"] > 0 for h in hist)     # timings beside, not inside
    assert len(list(csv.DictReader((tmp_path / "timing.csv").open()))) == 3

    enc, dec, meta = load_model(tmp_path / "best.safetensors")
    assert meta["field_kind"] == "udf" and meta["arch"] == spec and meta["best_epoch"] == res["best_epoch"]
    assert not enc.training and not dec.training
    emb = encode(enc, spec, val.params, batch_size=3)
    assert emb.shape == (8, 32)
    ckpt = load_checkpoint(tmp_path / "best.safetensors")
    assert ckpt["epoch"] == res["best_epoch"] + 1
    torch.seed()                                                       # another process-wide RNG state
    again = train_nf2vec(train, val, spec, "udf", ENC, DEC, CFG, tmp_path / "again", device="cpu")
    assert again["best_epoch"] == res["best_epoch"]
    assert (tmp_path / "again" / "best.safetensors").read_bytes() == (tmp_path / "best.safetensors").read_bytes()
    assert all("seconds" not in r for r in ckpt["history"])        # no timings in model files


def test_shared_coords_and_occupancy(tmp_path: Path) -> None:
    spec, data = make_toy(8, m=200, kind="occupancy")
    shared = FieldDataset(data.params, data.coords[0], data.values)
    cfg = replace(CFG, epochs=1, schedule="onecycle")
    res = train_nf2vec(shared, None, spec, "occupancy", ENC, DEC, cfg, tmp_path, device="cpu")
    assert res["best_epoch"] == 0 and (tmp_path / "best.safetensors").is_file()  # best on train loss without val


class _Killed(Exception):
    pass


def test_resume_after_kill_reproduces_the_uninterrupted_run(tmp_path: Path) -> None:
    spec, train = make_toy(12, seed=0)
    _, val = make_toy(4, seed=1)
    cfg = replace(CFG, epochs=4)
    full = train_nf2vec(train, val, spec, "sdf", ENC, DEC, cfg, tmp_path / "full", device="cpu")

    def kill(epoch: int, row: dict) -> None:
        if epoch == 1:
            raise _Killed

    with pytest.raises(_Killed):
        train_nf2vec(train, val, spec, "sdf", ENC, DEC, cfg, tmp_path / "cut", device="cpu", on_epoch_end=kill)
    assert load_checkpoint(tmp_path / "cut" / "last.safetensors")["epoch"] == 2
    seen: list[int] = []
    res = train_nf2vec(train, val, spec, "sdf", ENC, DEC, cfg, tmp_path / "cut", device="cpu",
                       on_epoch_end=lambda e, r: seen.append(e))
    assert seen == [2, 3]
    for a, b in zip(full["history"], res["history"], strict=True):
        assert a["epoch"] == b["epoch"]
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-6)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-6)
    assert res["best_epoch"] == full["best_epoch"]
    # a finished run resumes to nothing; a different architecture refuses to resume
    again = train_nf2vec(train, val, spec, "sdf", ENC, DEC, cfg, tmp_path / "cut", device="cpu",
                         on_epoch_end=lambda e, r: seen.append(e))
    assert seen == [2, 3] and len(again["history"]) == 4
    with pytest.raises(ConfigError, match="decoder"):
        train_nf2vec(train, val, spec, "sdf", ENC, replace(DEC, hidden=8), cfg, tmp_path / "cut", device="cpu")


def test_bad_inputs(tmp_path: Path) -> None:
    spec, data = make_toy(4, m=16)
    with pytest.raises(BadInputError):
        FieldDataset(data.params, data.coords[:, :8], data.values)
    with pytest.raises(BadInputError):
        FieldDataset(data.params, data.coords, data.values * float("nan"))
    wrong = FieldDataset(data.params[:, :-1], data.coords, data.values)
    with pytest.raises(BadInputError):
        train_nf2vec(wrong, None, spec, "udf", ENC, DEC, CFG, tmp_path, device="cpu")
    empty = FieldDataset(data.params[:0], data.coords[:0], data.values[:0])
    with pytest.raises(BadInputError, match="empty"):
        train_nf2vec(empty, None, spec, "udf", ENC, DEC, CFG, tmp_path, device="cpu")
    with pytest.raises(ConfigError):
        TrainConfig(epochs=0)
    with pytest.raises(BadInputError):
        load_model(tmp_path / "missing.pt")


def test_add_row_noise_follows_the_spread_over_the_batch() -> None:
    from nf2vec_core.train.trainer import add_row_noise
    rows = torch.zeros(64, 5, 3)
    rows[:, :, 1] = torch.randn(64, 5, generator=torch.Generator().manual_seed(0))  # only column 1 varies
    out = add_row_noise(rows, 0.5, torch.Generator().manual_seed(1))
    noise = out - rows
    assert torch.equal(noise[..., 0], torch.zeros(64, 5)) and torch.equal(noise[..., 2], torch.zeros(64, 5))
    ratio = noise[..., 1].std() / rows[..., 1].std()
    assert 0.4 < float(ratio) < 0.6
    again = add_row_noise(rows, 0.5, torch.Generator().manual_seed(1))
    assert torch.equal(out, again)                                              # reproducible from the generator
    one = rows[:1] + 1.0
    assert torch.equal(add_row_noise(one, 0.5, torch.Generator().manual_seed(1)), one)  # no spread: unchanged
    given = add_row_noise(rows, 0.5, torch.Generator().manual_seed(1), rows.std(dim=0, keepdim=True))
    assert torch.equal(given, out)                                              # a given spread is the same spread


def test_row_noise_changes_training_reproducibly_and_is_validated(tmp_path: Path) -> None:
    spec, train = make_toy(16, seed=0)
    cfg = replace(CFG, epochs=1)
    plain = train_nf2vec(train, None, spec, "udf", ENC, DEC, cfg, tmp_path / "a", device="cpu")
    noisy = [train_nf2vec(train, None, spec, "udf", ENC, DEC, replace(cfg, row_noise=0.5), tmp_path / d,
                          device="cpu") for d in ("b", "c")]
    assert noisy[0]["history"][0]["train_loss"] == noisy[1]["history"][0]["train_loss"]
    assert noisy[0]["history"][0]["train_loss"] != plain["history"][0]["train_loss"]
    with pytest.raises(ConfigError, match="row_noise"):
        TrainConfig(row_noise=-1.0)


def test_contrastive_term_trains_reproducibly_resumes_and_is_validated(tmp_path: Path) -> None:
    spec, train = make_toy(12, seed=0)
    _, val = make_toy(4, seed=1)
    cfg = replace(CFG, epochs=3, row_noise=0.5)
    plain = train_nf2vec(train, val, spec, "sdf", ENC, DEC, cfg, tmp_path / "plain", device="cpu")
    con = replace(cfg, contrastive=0.1, contrastive_dim=16)
    full = train_nf2vec(train, val, spec, "sdf", ENC, DEC, con, tmp_path / "full", device="cpu")
    assert full["history"][-1]["train_loss"] != plain["history"][-1]["train_loss"]
    ckpt = load_checkpoint(tmp_path / "full" / "last.safetensors")
    assert {"head.0.weight", "logit_scale", "logit_bias"} <= set(ckpt["contrastive"])
    assert ckpt["contrastive"]["logit_scale"] != pytest.approx(float(torch.log(torch.tensor(10.0))))  # learned

    def kill(epoch: int, row: dict) -> None:
        if epoch == 0:
            raise _Killed

    with pytest.raises(_Killed):
        train_nf2vec(train, val, spec, "sdf", ENC, DEC, con, tmp_path / "cut", device="cpu", on_epoch_end=kill)
    res = train_nf2vec(train, val, spec, "sdf", ENC, DEC, con, tmp_path / "cut", device="cpu")
    for a, b in zip(full["history"], res["history"], strict=True):  # the head is restored on resume
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-6)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-6)
    with pytest.raises(ConfigError, match="row_noise"):
        TrainConfig(contrastive=0.1)
    with pytest.raises(ConfigError, match="contrastive"):
        TrainConfig(row_noise=0.5, contrastive=-1.0)


def test_view_pairs_use_the_other_fits_and_are_validated(tmp_path: Path) -> None:
    spec, train = make_toy(12, seed=0)
    _, val = make_toy(4, seed=1)
    con = replace(CFG, epochs=2, row_noise=0.5, contrastive=0.1, contrastive_dim=16)
    views = train.params.unsqueeze(0) + 0.05 * torch.randn(2, *train.params.shape, generator=torch.Generator().manual_seed(3))
    with_views = replace(train, views=views)
    plain = train_nf2vec(with_views, val, spec, "sdf", ENC, DEC, con, tmp_path / "a", device="cpu")
    # without view_pairs the views are ignored: the same run as without them
    ref = train_nf2vec(train, val, spec, "sdf", ENC, DEC, con, tmp_path / "b", device="cpu")
    assert plain["history"][-1]["train_loss"] == ref["history"][-1]["train_loss"]
    vp = replace(con, view_pairs=True)
    r1 = train_nf2vec(with_views, val, spec, "sdf", ENC, DEC, vp, tmp_path / "c", device="cpu")
    r2 = train_nf2vec(with_views, val, spec, "sdf", ENC, DEC, vp, tmp_path / "d", device="cpu")
    assert r1["history"][-1]["train_loss"] != ref["history"][-1]["train_loss"]
    assert r1["history"][-1]["train_loss"] == r2["history"][-1]["train_loss"]   # reproducible
    with pytest.raises(BadInputError, match="views must be"):
        replace(train, views=train.params)
    bad = views.clone()
    bad[0, 0, 0] = float("nan")
    with pytest.raises(BadInputError, match="views contains NaN"):
        replace(train, views=bad)
