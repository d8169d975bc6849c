"""metrics/ vs timings/: a stage's record split on write, merged on read."""
from __future__ import annotations

import json

from nf2vec_core.store.results import read_results, split_timings, timings_path, write_results


def test_timings_path_swaps_the_last_metrics_folder(tmp_path):
    assert timings_path("metrics/fit_shapes.json").as_posix() == "timings/fit_shapes.json"
    assert timings_path("metrics/arena/fit_r.json").as_posix() == "timings/arena/fit_r.json"
    assert timings_path("/x/metrics/y/metrics/a.json").as_posix() == "/x/metrics/y/timings/a.json"
    assert timings_path("out/m.json").as_posix() == "out/m.timings.json"     # no metrics folder: a sibling


def test_split_moves_timing_keys_at_any_depth_and_keeps_the_rest():
    record = {"count": 3, "seconds": 1.5, "fitted_now": 2,
              "gnn": {"accuracy": 0.9, "train_seconds": 4.0}, "mlp": {"accuracy": 0.8}}
    metrics, timings = split_timings(record)
    assert metrics == {"count": 3, "gnn": {"accuracy": 0.9}, "mlp": {"accuracy": 0.8}}
    assert timings == {"seconds": 1.5, "fitted_now": 2, "gnn": {"train_seconds": 4.0}}   # no empty "mlp"


def test_write_then_read_round_trips_and_metrics_hold_no_timing(tmp_path):
    record = {"count": 3, "seconds": 1.5, "view1": {"mean_iou": 0.8, "nf_steps_per_s": 10.0}}
    m, t = write_results(tmp_path / "metrics" / "fit_d.json", record)
    assert t == tmp_path / "timings" / "fit_d.json"
    assert json.loads(m.read_text()) == {"count": 3, "view1": {"mean_iou": 0.8}}
    assert read_results(m) == record


def test_a_run_with_other_timings_writes_the_same_metrics_bytes(tmp_path):
    a = write_results(tmp_path / "a" / "metrics" / "x.json", {"acc": 0.5, "seconds": 1.0})[0]
    b = write_results(tmp_path / "b" / "metrics" / "x.json", {"acc": 0.5, "seconds": 2.0})[0]
    assert a.read_bytes() == b.read_bytes()


def test_timings_only_records_and_missing_files(tmp_path):
    m, t = write_results(tmp_path / "metrics" / "timing_d.json", {"pointnet_ms": {"1024": 3.0}})
    assert m is None and not (tmp_path / "metrics" / "timing_d.json").exists()
    assert read_results(tmp_path / "metrics" / "timing_d.json") == {"pointnet_ms": {"1024": 3.0}}
    assert read_results(tmp_path / "metrics" / "absent.json") == {}
