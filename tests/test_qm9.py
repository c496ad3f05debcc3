"""QM9 pipeline: CSV and .xyz readers, molecules and densities, cached sharded features, the experiment."""
from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from scatlab.runtime import local_device, shard_of
from scatlab.chem.features import (FeatureSpec, Featurizer, chunk_positions, featurize_cached, load_cached,
                                   wait_for_chunks)
from scatlab.chem.molecules import GridSpec, Molecule, densities, valence_charge
from scatlab.datasets.qm9 import COLUMNS, FILES, load_qm9, qm9_dir
from scatlab.datasets.xyz import parse_xyz, read_xyz
from scatlab.errors import DataError, InvalidParameterError, ShapeError
from conftest import require_data

needs_qm9 = pytest.mark.requires_data("QM9")

TINY = FeatureSpec(shape=(24, 20, 16), spacing=0.5, sigma=0.75, margin=1.9, J=1, L=1, integral_powers=(1.0, 2.0))


@pytest.fixture(scope="module")
def qm9_head():
    require_data("QM9")
    return load_qm9(limit=120)


# ---------------------------------------------------------------- QM9 CSV


@needs_qm9
def test_qm9_first_rows_and_atomization_energies(qm9_head):
    assert len(qm9_head) == 120 and qm9_head.n_skipped == 0
    methane = qm9_head.molecules[0]
    assert methane.symbols == ("C", "H", "H", "H", "H") and qm9_head.index[0] == 1
    energy = qm9_head.atomization_kcal_mol
    assert energy[0] == pytest.approx(-396.0, abs=0.5)  # methane, DATA.md
    assert (energy < 0).all()


def _write_csv(directory: Path, rows: list[dict]) -> None:
    header = ["XYZ_file"] + list(COLUMNS)
    for k, name in enumerate(FILES):
        with open(directory / name, "w", newline="") as file:
            writer = csv.DictWriter(file, header)
            writer.writeheader()
            if k == 0:
                writer.writerows(rows)


def _row(i, elements="['O','H','H']", xyz="[[0.,0.,0.],[0.96,0.,0.],[-0.24,0.93,0.]]", n=3, u0="-76.4"):
    return {"XYZ_file": f"m{i}.xyz", "Index": str(i), "N_atoms": str(n), "Elements": elements, "XYZ_Ang": xyz,
            "InternalEnergy_0K_au": u0}


@pytest.mark.parametrize("bad, field", [
    (dict(elements="['O','H','Xx']"), "Elements"), (dict(xyz="[[0.,0.,0.],[0.96,0.]]"), "XYZ_Ang"),
    (dict(n=4), "N_atoms"), (dict(u0="abc"), "InternalEnergy_0K_au"),
    (dict(xyz="[[0.,0.,nan],[1.,0.,0.],[0.,1.,0.]]"), "molecule"),
])
def test_malformed_qm9_row_names_the_field_and_is_skipped_only_when_asked(tmp_path, bad, field):
    _write_csv(tmp_path, [_row(1), _row(2, **bad), _row(3)])
    with pytest.raises(DataError, match=f"line 3.*'{field}'.*skip_bad=True"):
        load_qm9(tmp_path)
    data = load_qm9(tmp_path, skip_bad=True)
    assert len(data) == 2 and data.n_skipped == 1 and list(data.index) == [1, 3]


def test_missing_qm9_files_name_the_install_command(tmp_path):
    with pytest.raises(DataError, match="pip install qm9pack"):
        load_qm9(tmp_path)


# ---------------------------------------------------------------- .xyz files and molecules


def test_xyz_reader_reads_frames_and_mathematica_exponents(tmp_path):
    path = tmp_path / "two.xyz"
    path.write_text("3\nwater\nO 0 0 0\nH 0.96 0 0\nH -0.24 0.93 1.5*^-3\n\n2\n\nH 0 0 0\nH 0.74 0 0\n")
    water, h2 = read_xyz(path)
    assert water.name == "water" and water.symbols == ("O", "H", "H") and water.positions[2, 2] == 1.5e-3
    assert len(h2) == 2 and np.allclose(h2.positions[1], [0.74, 0, 0])


@pytest.mark.parametrize("text, message", [
    ("", "no molecule"), ("x\n\n", "atom count"), ("0\nempty\n", "at least 1"), ("3\nw\nO 0 0 0\nH 1 0 0\n", "ends"),
    ("2\nw\nO 0 0\nH 1 0 0\n", "line 3"), ("1\nw\nQq 0 0 0\n", "unknown element"), ("1\nw\nC nan 0 0\n", "NaN"),
])
def test_malformed_xyz_raises_a_clear_error(text, message):
    with pytest.raises(DataError, match=message):
        parse_xyz(text)


def test_molecule_errors_and_valence():
    with pytest.raises(DataError, match="empty"):
        Molecule((), np.zeros((0, 3)))
    with pytest.raises(ShapeError, match="shape"):
        Molecule(("C", "H"), np.zeros((3, 3)))
    with pytest.raises(DataError, match=r"coordinates \[\['a', 0, 0\]\] are not numbers.*one row of three numbers"):
        Molecule(("C",), [["a", 0, 0]])
    assert list(valence_charge([1, 6, 8, 9, 16])) == [1, 4, 6, 7, 6]


def test_densities_have_the_right_mass_and_a_too_large_molecule_is_refused():
    grid = GridSpec((24, 20, 16), 0.5, 0.75, 1.9)
    mol = parse_xyz("3\nw\nO 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n")[0]
    rho = densities([mol], grid)[0]
    assert rho.sum((1, 2, 3)) == pytest.approx([10, 8, 2], rel=1e-6)  # full, valence, core charges
    long = Molecule(("C",) * 2, np.array([[0, 0, 0], [9.0, 0, 0]]), name="long")
    with pytest.raises(ShapeError, match="'long' does not fit the grid: it spans"):
        densities([long], grid)


def test_uncentered_densities_refuse_atoms_outside_the_box():
    grid = GridSpec((24, 20, 16), 0.5, 0.75, 1.9)  # a 12 x 10 x 8 Angstrom box
    inside = Molecule(("O", "H"), np.array([[6.0, 5.0, 4.0], [6.96, 5.0, 4.0]]))
    assert densities([inside], grid, center=False)[0].sum((1, 2, 3)) == pytest.approx([9, 7, 2], rel=1e-6)
    far = Molecule(("C", "C"), np.array([[6.0, 5.0, 4.0], [100.0, 5.0, 4.0]]), name="far")
    with pytest.raises(ShapeError, match=r"'far' does not fit the grid: atom 1 \(C\) at \[100.0, 5.0, 4.0\].*center"):
        densities([far], grid, center=False)
    edge = Molecule(("C",), np.array([[6.0, 5.0, 1.0]]), name="edge")  # closer than the margin to z = 0
    with pytest.raises(ShapeError, match="'edge' does not fit the grid: atom 0"):
        densities([edge], grid, center=False)
    assert densities([far], GridSpec((240, 20, 16), 0.5, 0.75, 1.9), center=False).shape == (1, 3, 240, 20, 16)


# ---------------------------------------------------------------- cached, sharded, resumable features


@needs_qm9
def test_cache_resumes_identically_and_shards_agree(qm9_head, tmp_path):
    mols, ids = list(qm9_head.molecules[:10]), qm9_head.index[:10]
    first = featurize_cached(mols, ids, tmp_path / "a", TINY, chunk_size=4)
    assert first["computed"] == 3
    full, ok = load_cached(ids, tmp_path / "a", TINY, chunk_size=4)
    assert ok.all() and full.shape == (10, 3 * len(Featurizer(TINY).scattering.meta))
    chunk = next((tmp_path / "a" / TINY.key()).glob("chunk_000001.npz"))
    chunk.unlink()  # as if interrupted before the second chunk was written
    with pytest.raises(DataError, match="1 of 3 feature chunks are missing"):
        load_cached(ids, tmp_path / "a", TINY, chunk_size=4)
    again = featurize_cached(mols, ids, tmp_path / "a", TINY, chunk_size=4)
    assert again["computed"] == 1 and again["cached"] == 2
    np.testing.assert_array_equal(load_cached(ids, tmp_path / "a", TINY, chunk_size=4)[0], full)
    for rank in (0, 1):
        featurize_cached(mols, ids, tmp_path / "b", TINY, chunk_size=4, rank=rank, world=2)
    np.testing.assert_array_equal(load_cached(ids, tmp_path / "b", TINY, chunk_size=4)[0], full)
    assert not list((tmp_path / "a").rglob("*.tmp"))
    with pytest.raises(InvalidParameterError, match="rank"):
        featurize_cached(mols, ids, tmp_path / "c", TINY, rank=2, world=2)


def test_chosen_chunks_keep_the_whole_list_layout_including_the_short_last_chunk(tmp_path):
    water = parse_xyz("3\nw\nO 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n")[0]
    mols = [Molecule(water.symbols, water.positions * (1 + 0.01 * k)) for k in range(10)]  # 3 chunks: 4, 4, 2
    ids = np.arange(100, 110)
    done = featurize_cached(mols, ids, tmp_path / "a", TINY, chunk_size=4, chunks=[2, 0])
    assert done["computed"] == 2 and done["molecules"] == 6
    assert [p.name for p in sorted((tmp_path / "a" / TINY.key()).glob("chunk_*"))] == ["chunk_000000.npz",
                                                                                      "chunk_000002.npz"]
    part, ok = load_cached(ids, tmp_path / "a", TINY, chunk_size=4, chunks=[0, 2])
    assert ok.all() and list(chunk_positions([0, 2], 10, 4)) == [0, 1, 2, 3, 8, 9]
    featurize_cached(mols, ids, tmp_path / "b", TINY, chunk_size=4)
    full, _ = load_cached(ids, tmp_path / "b", TINY, chunk_size=4)
    np.testing.assert_array_equal(part, full[[0, 1, 2, 3, 8, 9]])  # same rows as featurizing everything
    with pytest.raises(DataError, match="1 of 3 feature chunks are missing"):
        load_cached(ids, tmp_path / "a", TINY, chunk_size=4)
    with pytest.raises(DataError, match="other molecules"):  # a cache of another order is not misread
        load_cached(ids[::-1], tmp_path / "a", TINY, chunk_size=4, chunks=[2])
    with pytest.raises(InvalidParameterError, match="'chunks'.*\\[0, 3\\)"):
        featurize_cached(mols, ids, tmp_path / "a", TINY, chunk_size=4, chunks=[3])
    wait_for_chunks(10, tmp_path / "a", TINY, chunk_size=4, chunks=[0, 2], timeout_s=0.0, poll_s=0.0)


@pytest.mark.parametrize("n, n_test, sizes, chunk", [(130831, 10000, (1000, 2000, 5000, 10000, 110831), 256),
                                                     (130831, 250, (250, 500, 1000), 256), (110, 30, (40, 80), 64),
                                                     (1000, 500, (500,), 7)])
def test_qm9_test_set_is_the_end_of_the_permutation_and_never_a_training_prefix(n, n_test, sizes, chunk):
    """A pilot on a prefix of the permutation (at most max(train_sizes) molecules) never sees a test molecule."""
    from scatlab.experiments import qm9

    test, train = qm9.qm9_split(n, n_test, sizes)
    assert list(test) == list(range(n - n_test, n)) and sorted(train) == sorted(sizes)
    for size, positions in train.items():
        assert list(positions) == list(range(size)) and not set(positions) & set(test)
    assert not set(range(max(sizes))) & set(test)
    featurized = set(chunk_positions(qm9.qm9_chunks(n, n_test, sizes, chunk), n, chunk))
    assert featurized >= set(test) | set(range(max(sizes)))
    assert len(featurized) < len(test) + max(sizes) + 2 * chunk  # only the head and the tail
    with pytest.raises(InvalidParameterError, match="lower train_sizes or n_test"):
        qm9.qm9_split(n, n_test, (n - n_test + 1,))


def test_quick_qm9_featurizes_the_documented_molecules():
    from scatlab.experiments import qm9

    quick = qm9.Config.quick()
    chunks = qm9.qm9_chunks(130831, quick.n_test, quick.train_sizes, quick.chunk_size)
    assert chunks == [0, 1, 2, 3, 510, 511] and len(chunk_positions(chunks, 130831, quick.chunk_size)) == 1295


def test_cuda_means_this_ranks_gpu_under_torchrun(monkeypatch):
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert local_device("cuda") == "cuda"
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert [local_device(d) for d in ("cuda", "cuda:1", "cpu")] == ["cuda:3", "cuda:1", "cpu"]


def test_ranks_come_from_torchrun_variables_and_rank_zero_waits_for_the_others(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert shard_of() == (1, 3)
    water = parse_xyz("3\nw\nO 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n")[0]
    featurize_cached([water] * 6, np.arange(6), tmp_path, TINY, chunk_size=2)  # rank 1 of 3: chunk 1 only
    assert [p.name for p in sorted((tmp_path / TINY.key()).glob("chunk_*"))] == ["chunk_000001.npz"]
    with pytest.raises(DataError, match="2 feature chunks.*every rank"):
        wait_for_chunks(6, tmp_path, TINY, chunk_size=2, timeout_s=0.0, poll_s=0.0)


def test_molecule_outside_the_grid_stops_the_run_unless_skipped(tmp_path):
    good = parse_xyz("3\nw\nO 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n")[0]
    long = Molecule(("C", "C"), np.array([[0, 0, 0], [30.0, 0, 0]]), name="long")
    with pytest.raises(ShapeError, match="'long'.*skip_bad"):
        featurize_cached([good, long], [1, 2], tmp_path, TINY, chunk_size=2)
    featurize_cached([good, long], [1, 2], tmp_path, TINY, chunk_size=2, skip_bad=True)
    features, ok = load_cached([1, 2], tmp_path, TINY, chunk_size=2)
    assert list(ok) == [True, False] and np.isfinite(features[0]).all()


# ---------------------------------------------------------------- the experiment


@needs_qm9
def test_experiment_runs_end_to_end_on_a_small_real_subset(tmp_path):
    from scatlab.experiments import qm9

    cfg = dataclasses.replace(qm9.Config.quick(), read_limit=120, n_test=30, train_sizes=(40, 80), J=1, L=1,
                              shape=TINY.shape, spacing=TINY.spacing, sigma=TINY.sigma,
                              integral_powers=(1.0, 2.0), chunk_size=64,
                              cache_dir=str(tmp_path / "cache"), mlp_epochs=5, mlp_width=32)
    result = qm9.run(cfg, tmp_path, lambda it, **_: it)
    m = result.metrics
    assert set(m) >= {"test_mae_kcal_mol", "test_rmse_kcal_mol", "n_train", "molecules_per_s",
                      "test_mae_kcal_mol_log", "test_mae_kcal_mol_mlp", "test_mae_kcal_mol_kernel"}
    assert m["best_test_mae_kcal_mol"] == min(m["test_mae_kcal_mol"], m["test_mae_kcal_mol_log"],
                                              m["test_mae_kcal_mol_mlp"], m["test_mae_kcal_mol_kernel"],
                                              m["atom_counts_mae_kcal_mol"])
    assert m["kernel_n_train"] == 80 and m["kernel_lengthscale"] in cfg.kernel_lengthscales
    assert m["n_train"] == 80 and all(np.isfinite(v) for v in m.values())
    assert 0 < m["test_mae_kcal_mol"] <= m["test_rmse_kcal_mol"]
    assert (tmp_path / result.figures[0]).stat().st_size > 0
    assert [row[0] for row in result.tables[0][2]] == [40, 80]
    assert [row[-3] for row in result.tables[0][2]] == ["", round(m["test_mae_kcal_mol_kernel"], 3)]  # kernel_curve_from
    assert m["test_mae_kcal_mol"] < m["atom_counts_mae_kcal_mol"]  # scattering beats counting atoms
    # divide and conquer from 40 molecules on: the kernel at both sizes, 80 in two blocks of 40
    blocks = qm9.run(dataclasses.replace(cfg, mlp_epochs=0, kernel_curve_from=40, kernel_block=40), tmp_path,
                     lambda it, **_: it)
    rows = blocks.tables[0][2]
    assert all(isinstance(row[-3], float) for row in rows) and rows[-1][-1] == "80 in 2"
    assert blocks.metrics["kernel_blocks"] == 2 and blocks.metrics["kernel_n_train"] == 80
    assert "in 2 blocks, averaged" in blocks.notes[0]


def _small_config(tmp_path, **change):
    """The experiment cut down as in the end-to-end test, without the residual MLP and kernel."""
    from scatlab.experiments import qm9

    return dataclasses.replace(qm9.Config.quick(), n_test=30, train_sizes=(40, 80), J=1, L=1, shape=TINY.shape,
                               spacing=TINY.spacing, sigma=TINY.sigma, integral_powers=(1.0, 2.0), chunk_size=64,
                               cache_dir=str(tmp_path / "cache"), mlp_epochs=0, kernel_max_train=0, **change)


@pytest.fixture(scope="module")
def qm9_with_bad_rows(tmp_path_factory):
    """A data directory of the first 111 real QM9 rows: row 5 (line 6) with an unreadable energy, row
    10 stretched tenfold (it no longer fits the grid)."""
    require_data("QM9")
    with open(qm9_dir() / FILES[0], newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        rows = [{key: row[key] for key in ["XYZ_file", *COLUMNS]} for row, _ in zip(reader, range(111))]
    rows[4]["InternalEnergy_0K_au"] = "-40.4x"
    rows[9]["XYZ_Ang"] = json.dumps((10 * np.array(json.loads(rows[9]["XYZ_Ang"]))).tolist())
    directory = tmp_path_factory.mktemp("qm9_bad")
    _write_csv(directory, rows)
    return directory


def test_experiment_skips_and_counts_bad_rows_and_molecules_only_when_asked(qm9_with_bad_rows, tmp_path):
    from scatlab.experiments import qm9

    cfg = _small_config(tmp_path, data_dir=str(qm9_with_bad_rows), read_limit=110)  # uses all 110 molecules
    with pytest.raises(DataError, match="qm9_part1.csv, line 6.*'InternalEnergy_0K_au'.*skip_bad=True"):
        qm9.run(cfg, tmp_path, lambda it, **_: it)
    result = qm9.run(dataclasses.replace(cfg, skip_bad=True), tmp_path, lambda it, **_: it)
    assert result.metrics["n_skipped_rows"] == 1 and result.metrics["n_skipped_molecules"] == 1
    assert result.metrics["n_train"] + result.metrics["n_test"] == 109
    assert "1 malformed rows and 1 molecules that do not fit the grid were skipped." in result.notes


def test_experiment_writes_nothing_in_its_directory_on_other_ranks(qm9_with_bad_rows, tmp_path, monkeypatch):
    from scatlab.experiments import qm9

    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    out = tmp_path / "out"
    out.mkdir()
    cfg = _small_config(tmp_path, data_dir=str(qm9_with_bad_rows), read_limit=110, skip_bad=True)
    result = qm9.run(cfg, out, lambda it, **_: it)
    assert not list(out.iterdir()) and not result.figures and "rank 1 of 2" in result.notes[0]
    assert len(list((tmp_path / "cache").rglob("chunk_*.npz"))) == 1  # its shard: chunk 1 of 0, 1


def test_quick_config_is_a_few_thousand_molecules():
    from scatlab.experiments import qm9

    quick = qm9.Config.quick()
    assert 1000 <= quick.n_test + max(quick.train_sizes) <= 5000 and quick.spec == qm9.Config().spec


@pytest.mark.parametrize("change", [dict(mlp_epochs=-1), dict(mlp_width=0), dict(kernel_max_train=-1),
                                    dict(kernel_lengthscales=()), dict(kernel_penalties=(0.0,)),
                                    dict(kernel_block=1), dict(kernel_curve_from=-1)])
def test_experiment_rejects_bad_regression_settings_by_name(tmp_path, change):
    from scatlab.experiments import qm9

    name = next(iter(change))
    with pytest.raises(InvalidParameterError, match=name):
        qm9.run(dataclasses.replace(qm9.Config.quick(), cache_dir=str(tmp_path), **change), tmp_path, lambda it, **_: it)


@needs_qm9
def test_reproduce_qm9_quick_in_two_processes(tmp_path):
    """`scatlab reproduce qm9 --quick` as documented, its 1,280 molecules featurized by two processes
    (RANK 0 and 1 of WORLD_SIZE 2, as torchrun sets them): rank 0 fits, and the quick learning
    curve beats the atom-count baseline by a wide margin."""
    import os
    import subprocess
    import sys

    from scatlab.experiments import qm9

    command = [sys.executable, "-m", "scatlab", "reproduce", "qm9", "--quick", "--out", str(tmp_path / "out"),
               "--set", f"cache_dir={tmp_path / 'cache'}"]
    env = dict(os.environ, OMP_NUM_THREADS="1", WORLD_SIZE="2")
    ranks = [subprocess.Popen(command, env=dict(env, RANK=str(rank)), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for rank in (1, 0)]
    for process in ranks:
        _, err = process.communicate(timeout=900)
        assert process.returncode == 0, err[-2000:]
    metrics = json.loads((tmp_path / "out" / "qm9" / "results.json").read_text())["metrics"]
    quick = qm9.Config.quick()
    assert metrics["n_train"] == max(quick.train_sizes) and metrics["molecules_per_s"] > 0
    assert metrics["test_mae_kcal_mol"] < 0.5 * metrics["atom_counts_mae_kcal_mol"]
    assert len(list((tmp_path / "cache").rglob("chunk_*.npz"))) * quick.chunk_size >= quick.n_test + max(quick.train_sizes)


@needs_qm9
def test_every_qm9_molecule_fits_the_documented_grid():
    """The grid of FeatureSpec is chosen so that all 130,831 molecules fit after alignment."""
    data = load_qm9()
    featurizer = Featurizer()
    assert len(data.molecules) == 130831
    assert [i for i, m in enumerate(data.molecules) if featurizer.fit_error(m)] == []
