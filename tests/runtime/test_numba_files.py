"""numba's pickles beside a cached module: checked before numba loads them (no numba compile here)."""

from __future__ import annotations

import os
import pickle

import pytest

from gdc.runtime import numba_files

STEM = "gdc_" + "ab" * 16


class _Payload:
    """A pickle that would run code when loaded (it is only ever parsed here)."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def index(folder, name="loss-216", content=("stamp", {"sig": "x.1.nbc"})):
    path = folder / f"{STEM}.{name}.py311.nbi"
    path.write_bytes(pickle.dumps("0.68.1") + pickle.dumps(content))
    return path


def code(folder, name="loss-216", content=b"\x7fELF" + bytes(range(256)) * 20):
    path = folder / f"{STEM}.{name}.py311.1.nbc"
    path.write_bytes(pickle.dumps((content, "fndesc")))
    return path


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "__pycache__"
    folder.mkdir(mode=0o700)
    return folder


def test_whole_pickles_are_kept_and_recorded(folder):
    files = [index(folder), code(folder)]
    assert numba_files.check(STEM, [folder]) == ([], None)
    numba_files.record(STEM, [folder])
    assert all(f.exists() for f in files) and (folder / (STEM + numba_files.SUMS)).exists()
    assert numba_files.check(STEM, [folder]) == ([], None)


@pytest.mark.parametrize("damage", ["truncate", "random", "empty"])
def test_a_file_that_is_not_a_pickle_is_removed(folder, damage):
    path = code(folder)
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "random": os.urandom(len(data)), "empty": b""}[damage])
    notes, stuck = numba_files.check(STEM, [folder])
    assert not path.exists() and stuck is None
    assert notes == [f"numba's compiled code {path.name} is damaged (it does not parse as a pickle): "
                     "removed, numba compiles it again"]


def test_a_flipped_byte_in_recorded_code_is_found_by_its_checksum(folder):
    path = code(folder)
    numba_files.record(STEM, [folder])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01   # inside the machine code: the pickle still parses
    path.write_bytes(bytes(data))
    assert numba_files.damage(STEM, [folder]) == (
        f"numba's compiled code {path.name} is damaged (it differs from the checksum recorded when it was written)")
    notes, _ = numba_files.check(STEM, [folder])
    assert len(notes) == 1 and not path.exists()


def test_an_index_numba_rewrote_is_recorded_again(folder):
    """numba rewrites the index when it adds a signature; a process that used the old one
    may have recorded it. A rewritten index that parses is numba's, not damage."""
    path = index(folder)
    numba_files.record(STEM, [folder])
    index(folder, content=("stamp", {"sig": "x.1.nbc", "sig2": "x.2.nbc"}))
    assert numba_files.check(STEM, [folder]) == ([], None) and path.exists()


def test_files_others_could_write_or_own_are_removed(folder):
    shared = index(folder, "a-1", content=_Payload())   # a payload that parses: never loaded
    shared.chmod(0o666)
    link = folder / f"{STEM}.b-2.py311.nbi"
    link.symlink_to(shared)
    notes, stuck = numba_files.check(STEM, [folder])
    assert stuck is None and not shared.exists() and not os.path.lexists(link)
    assert any("writable by other users (mode 0666)" in n for n in notes)
    assert any(f"{link.name} is not a plain file" in n for n in notes)


def test_a_recorded_file_left_group_writable_by_the_umask_is_made_private(folder):
    path = code(folder)
    numba_files.record(STEM, [folder])
    path.chmod(0o664)
    assert numba_files.check(STEM, [folder]) == ([], None)
    assert path.stat().st_mode & 0o777 == 0o644


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_file_of_another_user_is_removed(folder):
    path = code(folder)
    numba_files.record(STEM, [folder])
    os.chown(path, 65534, 65534)
    notes, _ = numba_files.check(STEM, [folder])
    assert not path.exists() and "belongs to another user (uid 65534)" in notes[0]


def test_a_full_folder_in_the_way_is_reported_not_removed(folder):
    blocker = folder / f"{STEM}.loss-216.py311.1.nbc"
    blocker.mkdir()
    (blocker / "keep").write_text("someone's")
    notes, stuck = numba_files.check(STEM, [folder])
    assert stuck is not None and "cannot be removed" in stuck and (blocker / "keep").exists()


def test_garbage_sums_are_ignored(folder):
    path = code(folder)
    (folder / (STEM + numba_files.SUMS)).write_bytes(b"\xff\x00 not json")
    assert numba_files.check(STEM, [folder]) == ([], None) and path.exists()
    numba_files.record(STEM, [folder])
    assert numba_files.check(STEM, [folder]) == ([], None)
