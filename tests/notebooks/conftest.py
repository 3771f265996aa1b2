"""Shared by the notebook tests: where the notebooks are, and loading a solution module (their
names start with a digit, so they are loaded from their files, not imported by name)."""
import importlib.util
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def load_solution(stem):
    """The module notebooks/solutions/<stem>.py."""
    path = NOTEBOOKS / "solutions" / f"{stem}.py"
    spec = importlib.util.spec_from_file_location(f"notebook_solution_{stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def notebook_code(name, marker):
    """The source of the first code cell of notebooks/<name> that contains ``marker``."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and marker in cell.source:
            return cell.source
    raise LookupError(f"{name}: no code cell contains {marker!r}")

