"""Generated passwords live in owner-only files; anything others could read is refused."""

import os
import stat

import pytest

from elt.errors import EltError
from elt.password_store import PasswordStore


def test_a_password_is_generated_once_into_an_owner_only_file(tmp_path):
    store = PasswordStore(tmp_path / "secrets")
    first = store.get_or_create("loader")
    assert store.get_or_create("loader") == first == store.get("loader")
    assert len(first) >= 32 and first != store.get_or_create("transformer")
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.path("loader").stat().st_mode) == 0o600
    assert store.get("reporter") is None


@pytest.mark.parametrize("target", ["file", "folder"])
def test_a_password_others_may_read_is_refused(tmp_path, target):
    store = PasswordStore(tmp_path / "secrets")
    store.get_or_create("loader")
    (store.path("loader") if target == "file" else store.folder).chmod(0o644 if target == "file" else 0o755)
    with pytest.raises(EltError, match="only its owner may read"):
        store.get_or_create("loader")


def test_a_linked_password_file_is_refused(tmp_path):
    store = PasswordStore(tmp_path / "secrets")
    store.get_or_create("loader")
    elsewhere = tmp_path / "elsewhere.password"
    os.rename(store.path("loader"), elsewhere)
    store.path("loader").symlink_to(elsewhere)
    with pytest.raises(EltError, match="symbolic link"):
        store.get("loader")
