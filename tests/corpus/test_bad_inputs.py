"""Every file of the bad-input corpus is refused with one line naming the file and the reason."""
import pytest

from bad_inputs import CORPUS, READERS, build_good
from nf2vec_core.errors import BadInputError


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_bad_input_gives_its_message(tmp_path, name):
    kind, write, fragment = CORPUS[name]
    path = write(tmp_path)
    with pytest.raises(BadInputError) as err:
        READERS[kind](path)
    msg = str(err.value)
    assert str(path) in msg, msg
    assert fragment.lower() in msg.lower(), msg
    assert "\n" not in msg, msg                                       # one line


@pytest.mark.parametrize("kind", sorted(READERS))
def test_the_good_variant_of_each_kind_is_read(tmp_path, kind):
    READERS[kind](build_good(kind, tmp_path))
