"""Resumable stage outputs: fingerprints, work directories, publishing."""
from __future__ import annotations

from nf2vec_core.store import staging


def _tree(root, files):
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_fingerprint_follows_settings_content_and_names(tmp_path):
    data = _tree(tmp_path / "in", {"a.txt": "1", "sub/b.txt": "2"})
    fp = staging.fingerprint({"steps": 3}, [data])
    assert fp == staging.fingerprint({"steps": 3}, [data])
    assert fp != staging.fingerprint({"steps": 4}, [data])
    (data / "sub" / "b.txt").write_text("3")
    fp2 = staging.fingerprint({"steps": 3}, [data])
    assert fp2 != fp
    (data / "sub" / "b.txt").rename(data / "sub" / "c.txt")
    assert staging.fingerprint({"steps": 3}, [data]) != fp2
    (data / "new.txt").write_text("")
    assert staging.fingerprint({"steps": 3}, [data]) != fp2


def test_work_dir_is_kept_for_the_same_run_and_wiped_for_another(tmp_path):
    work = staging.work_dir(tmp_path, "fit", "shapes")
    staging.open_work(work, "aaa")
    assert not staging.resumed(work)
    (work / "shard-0").write_text("done")
    assert staging.resumed(staging.open_work(work, "aaa"))          # same fingerprint: resume
    assert (work / "shard-0").is_file()
    staging.open_work(work, "bbb")                                  # other settings/data/code: start over
    assert not (work / "shard-0").exists() and not staging.resumed(work)


def test_publish_replaces_the_output_only_when_complete(tmp_path):
    out = _tree(tmp_path / "out", {"old.txt": "old"})
    new = _tree(tmp_path / "work" / "out", {"new.txt": "new"})
    staging.publish_dir(new, out)
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"] and not new.exists()
    assert not list(tmp_path.glob(".out.old"))
    f = _tree(tmp_path / "w", {"best.bin": "x"}) / "best.bin"
    staging.publish_file(f, tmp_path / "models" / "best.bin")
    assert (tmp_path / "models" / "best.bin").read_text() == "x" and f.is_file()
    staging.close_work(tmp_path / "w")
    assert not (tmp_path / "w").exists()
