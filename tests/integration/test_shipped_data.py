"""data/: every shipped file exists, loads validated, and matches the hash data/README.md gives."""

import hashlib

import pytest

import labkit as lk
import labkit.data.shipped as shipped
from labkit.data import SHIPPED, DatasetError, UnknownShippedError, data_path, load_demos
from labkit.data.shipped import DATA_DIR
from labkit.experiments.shipped import MAKERS, make_data

README = (DATA_DIR / "README.md").read_text()


@pytest.mark.parametrize("name", list(SHIPPED))
def test_listed_with_current_hash_and_command(name):
    entry = SHIPPED[name]
    path = data_path(name)
    assert path.exists(), f"{path} missing: {entry.command}"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    row = next((line for line in README.splitlines() if line.startswith(f"| {entry.file} ")), None)
    assert row is not None, f"data/README.md has no row for {entry.file}"
    assert digest in row, f"data/README.md lists another hash for {entry.file}; update it to {digest}"
    assert entry.command in row


@pytest.mark.parametrize("name", list(SHIPPED))
def test_loads_validated_for_its_env(name):
    if SHIPPED[name].kind not in ("dataset", "policy"):
        pytest.skip(f"a {SHIPPED[name].kind}: its own package loads it (tested there)")
    obj = lk.load(name)
    env_id = SHIPPED[name].env_id
    if SHIPPED[name].kind == "dataset":
        assert isinstance(obj, lk.EpisodeDataset) and obj.metadata["env_id"] == env_id
    else:
        assert obj.env_id == env_id and not obj.training


def test_data_folder_is_small():
    total = sum(p.stat().st_size for p in DATA_DIR.rglob("*") if p.is_file())
    assert total < 40 * 2**20, f"data/ is {total / 2**20:.1f} MiB; keep it under 40 MiB"


def test_every_shipped_file_has_a_maker():
    assert set(MAKERS) == set(SHIPPED)
    with pytest.raises(UnknownShippedError, match="known: two_routes_demos"):
        make_data(["two_routes_demos", "nope"])  # refused before anything is made


def test_two_routes_demos_are_bimodal_and_successful():
    ds = load_demos("two_routes_demos")
    s = ds.summary()
    assert s["episodes"] == 200 and s["success_rate"] == 1.0
    assert min(s["route_counts"].values()) >= 70


def test_missing_or_corrupt_file_says_how_to_remake(tmp_path, monkeypatch):
    monkeypatch.setattr(shipped, "DATA_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="python -m labkit make-data two_routes_demos"):
        load_demos("two_routes_demos")
    src = DATA_DIR / SHIPPED["two_routes_demos"].file
    broken = tmp_path / SHIPPED["two_routes_demos"].file
    broken.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    with pytest.raises(DatasetError, match="make-data two_routes_demos"):
        load_demos("two_routes_demos")
    with pytest.raises(UnknownShippedError, match="known: two_routes_demos"):
        load_demos("nope")
    with pytest.raises(UnknownShippedError, match="is a policy, not a dataset"):
        load_demos("two_routes_prior")
