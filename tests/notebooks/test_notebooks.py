"""Every notebook in notebooks/ runs top to bottom without an error, and the cells tagged
"check" print what the committed notebook shows, so that stale outputs fail.

Each notebook runs in a fresh Jupyter kernel (nbclient), in a temporary folder so that nothing
is written into the repository, with one BLAS thread. Only text outputs (printed text and
plain-text results) of "check" cells are compared; pictures and timings are not. To refresh the
committed outputs after changing a notebook (nbclient's command; nothing is written beside it):

    OPENBLAS_NUM_THREADS=1 jupyter execute --inplace notebooks/NN_name.ipynb
"""
import os
from pathlib import Path

import pytest

from conftest import NOTEBOOKS

nbformat = pytest.importorskip("nbformat", reason="the notebook runner is in the test extra: "
                                                   "pip install -e '.[test]'")
nbclient = pytest.importorskip("nbclient", reason="the notebook runner is in the test extra: "
                                                   "pip install -e '.[test]'")

pytestmark = pytest.mark.cpu_only("the notebooks run on the CPU")

REPOSITORY = NOTEBOOKS.parent
CELL_TIMEOUT_S = 300
PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def test_all_six_notebooks_are_here():
    assert [p.name[:2] for p in PATHS] == ["01", "02", "03", "04", "05", "06"]


def text_outputs(cell):
    """What a cell printed or returned, as text (images and widgets left out)."""
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif output["output_type"] in ("execute_result", "display_data"):
            parts.append(output.get("data", {}).get("text/plain", ""))
        elif output["output_type"] == "error":
            parts.append(f"{output['ename']}: {output['evalue']}")
    return "".join(parts)


def checked_cells(nb):
    return [(i, cell) for i, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and "check" in cell.metadata.get("tags", [])]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_runs_and_its_checked_outputs_are_current(path, tmp_path, monkeypatch):
    # the kernel inherits this environment: the checkout on its path, one BLAS thread
    python_path = [str(REPOSITORY)] + [p for p in [os.environ.get("PYTHONPATH")] if p]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(python_path))
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("NUMBA_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    committed = nbformat.read(path, as_version=4)
    expected = {i: text_outputs(cell) for i, cell in checked_cells(committed)}
    assert expected, f"{path.name}: no cell is tagged 'check'"
    assert all(cell.get("outputs") for i, cell in checked_cells(committed)), (
        f"{path.name}: committed without the outputs of its checked cells")

    fresh = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(fresh, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error

    for i, cell in checked_cells(fresh):
        assert text_outputs(cell) == expected[i], (
            f"{path.name}, cell {i}: the output differs from the committed one; if the change "
            f"is intended, execute the notebook again and commit it\n--- cell:\n{cell.source}")
    assert not list(Path(REPOSITORY).glob("notebooks/*.png")), "a notebook wrote into the repo"
