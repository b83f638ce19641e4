"""Fresh names: the first free one of name, name-2, name-3..., claimed exclusively on disk."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mnist_lab.core import naming


def test_numbered_names_start_bare_then_count_from_2():
    names = naming.numbered("run", ".png")
    assert [next(names) for _ in range(4)] == ["run.png", "run-2.png", "run-3.png", "run-4.png"]
    assert len(list(naming.numbered("x"))) == naming.MAX_ATTEMPTS


@given(st.sets(st.integers(min_value=1, max_value=30)))
def test_unused_name_is_the_first_free_one(taken_numbers):
    taken = {"a" if n == 1 else f"a-{n}" for n in taken_numbers}
    free = next(n for n in range(1, 40) if n not in taken_numbers)
    assert naming.unused_name("a", taken) == ("a" if free == 1 else f"a-{free}")


def test_unused_name_says_when_every_name_is_taken():
    with pytest.raises(FileExistsError, match="Too many names like a.txt"):
        naming.unused_name("a", set(naming.numbered("a", ".txt")), ".txt")


def test_claimed_folders_are_new_and_distinct_even_from_threads(tmp_path):
    (tmp_path / "run").mkdir()
    with ThreadPoolExecutor(8) as pool:
        claimed = list(pool.map(lambda _: naming.claim_folder(tmp_path, "run"), range(16)))
    assert sorted(path.name for path in claimed) == sorted(
        ["run-2", *(f"run-{n}" for n in range(3, 18))]
    )
    assert all(path.is_dir() and not any(path.iterdir()) for path in claimed)


def test_a_claimed_file_never_replaces_one(tmp_path):
    (tmp_path / "seen.png").write_bytes(b"mine")
    claimed = naming.claim_file(tmp_path, "seen", ".png")
    assert claimed == tmp_path / "seen-2.png"
    assert claimed.read_bytes() == b""
    assert (tmp_path / "seen.png").read_bytes() == b"mine"


def test_claiming_says_when_every_name_is_taken(tmp_path, monkeypatch):
    monkeypatch.setattr(naming, "MAX_ATTEMPTS", 2)
    naming.claim_folder(tmp_path, "b")
    naming.claim_folder(tmp_path, "b")
    with pytest.raises(FileExistsError, match="Too many folders named b in"):
        naming.claim_folder(tmp_path, "b")
    naming.claim_file(tmp_path, "b", ".txt")
    naming.claim_file(tmp_path, "b", ".txt")
    with pytest.raises(FileExistsError, match="Too many files named b.txt in"):
        naming.claim_file(tmp_path, "b", ".txt")
