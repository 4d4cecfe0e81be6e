import numpy as np
import pytest

from numeric.fingerprint import array_fingerprint


def test_equal_arrays_give_equal_digests_whatever_the_layout():
    a = np.arange(12, dtype=np.float64).reshape(3, 4)
    assert array_fingerprint(a, np.array([1, 2])) == array_fingerprint(np.asfortranarray(a), np.array([1, 2]))
    assert len(array_fingerprint(a)) == 64


def test_values_dtypes_shapes_and_order_change_the_digest():
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 2.0, 3.5])
    digests = {
        array_fingerprint(x, y),
        array_fingerprint(y, x),
        array_fingerprint(x, x),
        array_fingerprint(x.astype(np.float32), y),
        array_fingerprint(x.reshape(3, 1), y),
        array_fingerprint(np.concatenate([x, y])),
    }
    assert len(digests) == 6


def test_object_arrays_are_refused():
    with pytest.raises(TypeError):
        array_fingerprint(np.array(["a", None], dtype=object))
