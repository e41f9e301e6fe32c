"""Cells: res-10 cells and their parents agree with h3 itself."""

from __future__ import annotations

import h3
import numpy as np

from onegrid.geo.cells import cells_to_latlng, cells_to_parents, latlng_to_cells


def test_cells_and_parents_match_h3_for_random_points():
    rng = np.random.default_rng(3)
    lat = rng.uniform(-80, 80, 2000)
    lng = rng.uniform(-180, 180, 2000)
    cells = latlng_to_cells(lat, lng)
    parents = cells_to_parents(cells)
    for i in range(0, 2000, 7):
        c = h3.latlng_to_cell(lat[i], lng[i], 10)
        assert int(cells[i]) == h3.str_to_int(c)
        for res in (9, 8, 7):
            assert int(parents[res][i]) == h3.str_to_int(h3.cell_to_parent(c, res))


def test_cell_centres_map_back_to_their_cells():
    rng = np.random.default_rng(4)
    cells = latlng_to_cells(rng.uniform(31.1, 31.4, 100), rng.uniform(121.3, 121.6, 100))
    lat, lng = cells_to_latlng(cells)
    assert (latlng_to_cells(lat, lng) == cells).all()


def test_empty_input_gives_empty_output():
    assert latlng_to_cells(np.array([]), np.array([])).shape == (0,)
