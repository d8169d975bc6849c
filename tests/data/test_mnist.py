"""MNIST folders: the official train/t10k files in every spelling, single and named pairs, ambiguous folders."""
import gzip
import shutil

import numpy as np
import pandas as pd
import pytest

from nf2vec_core.data.mnist import cap_per_class, find_pairs, read_mnist_folder
from nf2vec_core.data.prepare import DatasetParams, SplitParams, assign_splits, image_records, prepare_dataset
from nf2vec_core.errors import BadInputError, ConfigError

SPELLINGS = [("-", ".gz"), ("-", ""), (".", ".gz"), (".", "")]   # train-images-idx3-ubyte.gz ... train-images.idx3-ubyte


def _write_idx(path, array: np.ndarray) -> None:
    """An unsigned-byte idx file (magic 0x08 then the number of dims), gzipped when the name ends in .gz."""
    head = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = head + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)


def _digits(n: int, offset: int = 0, size: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images whose first pixel is their number (mod 256) and labels cycling through 0-9."""
    idx = np.arange(offset, offset + n)
    images = np.zeros((n, size, size), np.uint8)
    images[:, 0, 0] = idx % 256
    return images, idx % 10


def _official(root, n_train=60, n_test=20, sep="-", gz=".gz", size=2):
    """Write the four official files (train then t10k) under ``root``; returns the file names."""
    root.mkdir(exist_ok=True)
    names = {}
    for part, n, offset in (("train", n_train, 0), ("t10k", n_test, n_train)):
        x, y = _digits(n, offset, size)
        names[part] = (f"{part}-images{sep}idx3-ubyte{gz}", f"{part}-labels{sep}idx1-ubyte{gz}")
        _write_idx(root / names[part][0], x)
        _write_idx(root / names[part][1], y)
    return names


def _params(root, **kw) -> DatasetParams:
    kw.setdefault("n_per_class", 0)
    return DatasetParams(source="mnist", field="pixels", root=str(root), **kw)


def _ambiguous(root, *names, **kw):
    """Preparing ``root`` fails with a BadInputError naming the folder and every file in ``names``."""
    with pytest.raises(BadInputError) as err:
        image_records(_params(root, **kw))
    msg = str(err.value)
    assert all(n in msg for n in (str(root),) + names), msg
    return msg


# ------------------------------------------------------------------ the official distribution
@pytest.mark.parametrize("sep,gz", SPELLINGS)
def test_official_files_in_every_spelling(tmp_path, sep, gz):
    names = _official(tmp_path, sep=sep, gz=gz)
    pairs = find_pairs(tmp_path)
    assert [(p.images.name, p.labels.name, p.part) for p in pairs] == [
        (*names["train"], "train"), (*names["t10k"], "test")]
    df, images = image_records(_params(tmp_path, split=SplitParams(val=0.1, test=0.2)))
    assert len(df) == 80 and images.shape == (80, 2, 2, 1)
    assert np.array_equal(np.round(images[:, 0, 0, 0] * 255), np.arange(80))            # train first, then t10k
    test = df[df.split == "test"]
    # the official test split: exactly the t10k digits, whatever split.test says
    assert test["source"].tolist() == [f"{tmp_path / names['t10k'][0]}#{i}" for i in range(20)]
    # validation carved from train: 10 % of each class's 6 train digits (one each), seeded
    val = df[df.split == "val"]
    assert val["source"].str.contains(names["train"][0]).all()
    assert (val.groupby("class_name").size() == 1).all() and len(val) == 10
    train_ids = df.id[df.index < 60].tolist()
    assert val.id.tolist() == [i for i, s in zip(train_ids, assign_splits(
        train_ids, df.class_name[df.index < 60].tolist(), 0.1, 0.0, 0)) if s == "val"]
    other = image_records(_params(tmp_path, seed=1))[0]
    assert other.split.tolist() != df.split.tolist() and (other.split == "test").sum() == 20


def test_mixed_spellings_and_compression(tmp_path):
    x, y = _digits(30)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", x)
    _write_idx(tmp_path / "train-labels.idx1-ubyte", y)     # another spelling, raw
    _write_idx(tmp_path / "t10k-images.idx3-ubyte", x[:10])
    _write_idx(tmp_path / "t10k-labels.idx1-ubyte.gz", y[:10])
    # a pair is an images name and its own labels name: train-images-idx3 wants train-labels-idx1
    _ambiguous(tmp_path, "train-images-idx3-ubyte.gz", "train-labels.idx1-ubyte")
    (tmp_path / "train-labels.idx1-ubyte").rename(tmp_path / "train-labels-idx1-ubyte")
    got = read_mnist_folder(tmp_path)
    assert len(got.labels) == 40 and (got.official == "test").sum() == 10


def test_official_size_yields_70000_digits(tmp_path):
    _official(tmp_path, n_train=60000, n_test=10000, size=1)
    meta = prepare_dataset(_params(tmp_path, split=SplitParams(val=0.1, test=0.2)), tmp_path / "out")
    index = pd.read_csv(tmp_path / "out" / "index.csv")
    assert meta["count"] == 70000 and meta["splits"] == {"train": 54000, "test": 10000, "val": 6000}
    assert index.split[60000:].eq("test").all() and not index.split[:60000].eq("test").any()
    assert (index[index.split == "val"].groupby("class_name").size() == 600).all()


def test_cap_per_class_draws_from_both_official_splits(tmp_path):
    _official(tmp_path, n_train=600, n_test=100)
    df, _ = image_records(_params(tmp_path, n_per_class=7))
    assert len(df) == 70 and (df.groupby("class_name").size() == 7).all()
    assert (df[df.split == "test"].groupby("class_name").size() == 1).all()   # 7 * 100/700
    labels = np.arange(20) % 2
    assert cap_per_class(labels, 3).tolist() == [0, 1, 2, 3, 4, 5]
    assert cap_per_class(labels, 0).tolist() == list(range(20))


def test_raw_beside_its_gzip_copy(tmp_path):
    _official(tmp_path, gz="")
    _official(tmp_path, gz=".gz")                            # torchvision keeps both: same bytes, read once
    pairs = find_pairs(tmp_path)
    assert [p.images.name for p in pairs] == ["train-images-idx3-ubyte", "t10k-images-idx3-ubyte"]
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", _digits(20, offset=5)[0])
    _ambiguous(tmp_path, "t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz", "different")


# ------------------------------------------------------------------ single and named pairs
def test_single_unnamed_pair_is_split_over_all_items(tmp_path):
    x, y = _digits(50)
    _write_idx(tmp_path / "images-idx3-ubyte.gz", x)
    _write_idx(tmp_path / "labels-idx1-ubyte.gz", y)
    got = read_mnist_folder(tmp_path)
    assert got.official is None and got.sources[3] == f"{tmp_path / 'images-idx3-ubyte.gz'}#3"
    df, _ = image_records(_params(tmp_path))
    assert df.split.tolist() == assign_splits(df.id.tolist(), df.class_name.tolist(), 0.1, 0.2, 0)
    # a lone official pair is a single set too
    shutil.rmtree(tmp_path)
    _official(tmp_path)
    for f in tmp_path.glob("t10k*"):
        f.unlink()
    assert read_mnist_folder(tmp_path).official is None


def test_named_pair_ignores_the_rest_of_the_folder(tmp_path):
    _official(tmp_path, n_test=30)
    x, y = _digits(15)
    _write_idx(tmp_path / "extra-images-idx3-ubyte", x)
    _write_idx(tmp_path / "extra-labels-idx1-ubyte", y)
    _ambiguous(tmp_path, "extra-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz", "train-images-idx3-ubyte.gz")
    got = read_mnist_folder(tmp_path, "extra-images-idx3-ubyte", "extra-labels-idx1-ubyte")
    assert len(got.labels) == 15 and got.official is None
    df, _ = image_records(_params(tmp_path, images="t10k-images-idx3-ubyte.gz", labels="t10k-labels-idx1-ubyte.gz"))
    assert len(df) == 30 and set(df.split) == {"train", "val", "test"}          # split over the pair alone
    with pytest.raises(BadInputError, match="missing-labels.*file not found"):
        image_records(_params(tmp_path, images="extra-images-idx3-ubyte", labels="missing-labels"))
    with pytest.raises(ConfigError, match="'labels' too"):
        find_pairs(tmp_path, images="extra-images-idx3-ubyte")
    with pytest.raises(ConfigError, match="both files"):
        _params(tmp_path, labels="extra-labels-idx1-ubyte")
    with pytest.raises(ConfigError, match="for source 'mnist' only"):
        DatasetParams(source="digits", field="pixels", images="x", labels="y")


# ------------------------------------------------------------------ ambiguous folders
def test_ambiguous_folders_name_the_files(tmp_path):
    _official(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()                          # images without labels
    _ambiguous(tmp_path, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte", "unpaired")
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    _write_idx(tmp_path / "stray-labels-idx1-ubyte", _digits(4)[1])           # labels without images
    _ambiguous(tmp_path, "stray-labels-idx1-ubyte", "no images file")
    (tmp_path / "stray-labels-idx1-ubyte").unlink()
    _official(tmp_path, sep=".")                                               # both spellings of both sets
    _ambiguous(tmp_path, "train-images-idx3-ubyte.gz", "train-images.idx3-ubyte.gz",
               "t10k-images.idx3-ubyte.gz", "3 image files")


def test_counts_or_sizes_that_disagree(tmp_path):
    _official(tmp_path)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", _digits(19)[1])
    _ambiguous(tmp_path, "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "19 labels for 20 images")
    _official(tmp_path)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", _digits(20, size=3)[0])
    _ambiguous(tmp_path, "t10k-images-idx3-ubyte.gz", "train-images-idx3-ubyte.gz", "size")


def test_empty_folder(tmp_path):
    _ambiguous(tmp_path, "no MNIST idx files")
    _ambiguous(tmp_path / "absent", "not a directory")


# ------------------------------------------------------------------ the real sample
def test_real_sample_single_pair_named_or_found(shared_data, tmp_path):
    real = shared_data / "mnist-8k"
    found, _ = image_records(_params(real))
    named, _ = image_records(_params(real, images="images-idx3-ubyte.gz", labels="labels-idx1-ubyte.gz"))
    assert len(found) == 8000 and found.equals(named)
    assert found.split.value_counts().to_dict() == {"train": 5599, "test": 1602, "val": 799}
    # the same digits filed as the official t10k set beside a train set: official split
    shutil.copy(real / "images-idx3-ubyte.gz", tmp_path / "t10k-images-idx3-ubyte.gz")
    shutil.copy(real / "labels-idx1-ubyte.gz", tmp_path / "t10k-labels-idx1-ubyte.gz")
    x, y = _digits(100, size=28)
    _write_idx(tmp_path / "train-images.idx3-ubyte", x)
    _write_idx(tmp_path / "train-labels.idx1-ubyte", y)
    df, images = image_records(_params(tmp_path))
    assert len(df) == 8100 and df.split.value_counts().to_dict() == {"test": 8000, "train": 90, "val": 10}
    assert df.class_name[100:110].tolist() == ["7", "2", "1", "0", "4", "1", "4", "9", "5", "9"]
    # and beside the unnamed pair, the folder is ambiguous
    shutil.copy(real / "images-idx3-ubyte.gz", tmp_path)
    shutil.copy(real / "labels-idx1-ubyte.gz", tmp_path)
    _ambiguous(tmp_path, "images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz", "train-images.idx3-ubyte")
