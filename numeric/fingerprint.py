"""A content fingerprint of numeric arrays (keys fits by the data they were fitted on)."""

from __future__ import annotations

import hashlib

import numpy as np


def array_fingerprint(*arrays: np.ndarray) -> str:
    """SHA-256 hex digest of the arrays' dtypes, shapes and values, in order.

    Equal arrays give equal digests whatever their memory layout; a change of any value, dtype, shape or of the
    order of the arrays changes it. NaNs with the same bit pattern compare equal.

    Args:
        arrays: numpy arrays (anything ``np.asarray`` accepts, non-object dtypes).

    Returns:
        64 hexadecimal characters.

    Raises:
        TypeError: An array of object dtype (its bytes are pointers, not values).
    """
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        if array.dtype.hasobject:
            raise TypeError("array_fingerprint needs numeric arrays, not object arrays")
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()
