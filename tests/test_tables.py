"""Channel tables and filter views are shared through cached plans, so they are read-only."""
from __future__ import annotations

import numpy as np
import pytest

import scatlab
from scatlab.plan.table import ChannelTable

TRANSFORMS = {
    "Scattering1D": lambda: scatlab.Scattering1D(256, J=3, Q=2),
    "Scattering2D": lambda: scatlab.Scattering2D((32, 32), J=2),
    "RotoTranslationScattering2D": lambda: scatlab.RotoTranslationScattering2D((32, 32), J=2, L=4),
    "TimeFrequencyScattering": lambda: scatlab.TimeFrequencyScattering(256, J=4, Q=4, J_fr=2, F=2),
    "HarmonicScattering3D": lambda: scatlab.HarmonicScattering3D((8, 8, 8), J=1, L=1),
}


def tables(S) -> dict[str, ChannelTable]:
    """Every channel table a module exposes."""
    found = {"meta": S.meta}
    for name in ("paths", "local_meta"):
        if hasattr(S, name):
            found[name] = getattr(S, name)
    return found


def test_writing_into_meta_raises_and_other_modules_are_unaffected():
    a = scatlab.Scattering2D((32, 32), J=2)
    b = scatlab.Scattering2D((32, 32), J=2)
    assert a.plan is b.plan  # one cached plan: a write through a would show in b
    with pytest.raises(ValueError, match="read-only"):
        a.meta["order"][1] = 7
    assert b.meta["order"][1] == 1
    assert scatlab.Scattering2D((32, 32), J=2).meta["order"][1] == 1


@pytest.mark.parametrize("name", TRANSFORMS)
def test_every_column_of_every_table_is_read_only(name):
    S = TRANSFORMS[name]()
    for table_name, table in tables(S).items():
        for column in table.names:
            with pytest.raises(ValueError, match="read-only"):
                table[column][0] = table[column][-1]
            with pytest.raises(ValueError, match="read-only"):
                table.columns[column][...] = 0
        with pytest.raises(TypeError):
            table.columns["order"] = np.zeros(len(table), int)
        with pytest.raises(AttributeError):
            table.columns = {}
        assert len(table.select(order=1)) > 0, table_name
        assert len(table.records()) == len(table)


def test_a_table_copies_the_caller_arrays():
    order = np.array([0, 1, 1])
    table = ChannelTable({"order": order, "j1": [-1, 0, 2]})
    order[0] = 5  # the caller's array stays writable, and the table does not see the write
    assert table["order"].tolist() == [0, 1, 1]
    np.testing.assert_array_equal(table.select(order=1, j1=2), [2])
    assert table.records()[1] == {"order": 1, "j1": 0}


@pytest.mark.parametrize("make,args", [
    (lambda: scatlab.Scattering1D(256, J=3, Q=2), (2,)),
    (lambda: scatlab.Scattering2D((32, 32), J=2), ()),
])
def test_filters_fourier_are_read_only_and_cached(make, args):
    S = make()
    psi, phi = S.filters_fourier(*args)
    again = S.filters_fourier(*args)
    assert again[0] is psi and again[1] is phi
    for a in (psi, phi):
        with pytest.raises(ValueError, match="read-only"):
            a[...] = 0
