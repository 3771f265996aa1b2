"""docs/how-it-works.md cannot rot: its ```python blocks are run here, in order, in one
namespace, as a reader would paste them; its links to the source and its pictures must exist.

A failing block is reported with its number and the line of the document it failed on.

    python -m pytest -q tests/docs/test_docs.py        # check the document
    python tests/docs/test_docs.py                     # run the blocks from the repository root,
                                                  # which redraws docs/images/*.png (needs Graphviz)
"""
import contextlib
import io
import os
import re
import sys
import traceback
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "how-it-works.md"
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)

pytestmark = pytest.mark.cpu_only("the document's snippets make their tensors on the CPU")


def python_blocks(text):
    """[(line of the block's first code line in the document, code)], in order."""
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in FENCE.finditer(text)]


class BlockError(AssertionError):
    pass


def run_blocks(text, name="how-it-works.md", stdout=None):
    """Run every block in one namespace; a failure raises BlockError naming block and line."""
    namespace = {"__name__": "__how_it_works__"}
    blocks = python_blocks(text)
    for number, (first_line, code) in enumerate(blocks, start=1):
        filename = f"<{name} block {number}>"
        try:
            compiled = compile(code, filename, "exec")
            with contextlib.redirect_stdout(stdout or sys.stdout):
                exec(compiled, namespace)
        except Exception as e:
            frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == filename]
            lineno = frames[-1].lineno if frames else getattr(e, "lineno", 1) or 1
            source_line = code.splitlines()[lineno - 1].strip() if code.splitlines() else ""
            raise BlockError(
                f"{name}: block {number} of {len(blocks)} failed at line "
                f"{first_line + lineno - 1} of the document ({source_line!r}):\n"
                f"{type(e).__name__}: {e}\n\n{traceback.format_exc()}") from None
    return namespace, len(blocks)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """The blocks run in a scratch copy of the layout they expect (docs/images/ for the
    pictures they draw), with minigrad's random state and CuPy module put back afterwards."""
    from minigrad import backend
    (tmp_path / "docs" / "images").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    rng_state, cupy_module = backend.get_rng_state(), backend._cupy
    yield tmp_path
    backend.set_rng_state(rng_state)
    backend.set_cupy_module(cupy_module)


def test_every_python_block_runs_in_order(isolated):
    out = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no Graphviz: viz warns, and writes .dot files instead
        namespace, count = run_blocks(DOC.read_text(), stdout=out)
    assert count >= 20, f"expected the document's many snippets, found {count}"
    printed = out.getvalue()
    assert "Traceback" not in printed
    drawn = sorted(p.name for p in (isolated / "docs" / "images").iterdir())
    assert drawn, "the snippets should draw the graphs the document shows"
    for picture in drawn:  # every picture the snippets make is one the document embeds
        stem = Path(picture).stem
        assert f"images/{stem}.png" in DOC.read_text(), f"{picture} is drawn but not shown"


def test_a_failing_block_is_reported_with_its_number_and_line():
    text = ("intro\n\n```python\nx = 1\n```\n\ntext\n\n"
            "```python\ny = x + 1\nassert y == 3, 'no'\n```\n")
    with pytest.raises(BlockError) as info:
        run_blocks(text, name="example.md", stdout=io.StringIO())
    message = str(info.value)
    assert "block 2 of 2" in message and "line 11 of the document" in message
    assert "assert y == 3" in message and "AssertionError: no" in message


def test_blocks_share_one_namespace_in_order():
    text = "```python\nvalue = 41\n```\n\n```python\nvalue += 1\nprint(value)\n```\n"
    out = io.StringIO()
    namespace, count = run_blocks(text, stdout=out)
    assert count == 2 and namespace["value"] == 42 and out.getvalue() == "42\n"


def test_links_to_source_files_and_pictures_exist():
    text = DOC.read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if not re.match(r"[a-z]+://", t)]
    assert any(t.startswith("../minigrad/") for t in local), "the tour should link to the source"
    missing = [t for t in local if not (DOC.parent / t).exists()]
    assert not missing, f"broken links in {DOC.name}: {missing}"
    pictures = re.findall(r"!\[[^\]]*\]\((images/[^)]+)\)", text)
    assert len(pictures) >= 3
    for picture in pictures:
        assert (DOC.parent / picture).stat().st_size > 1000, f"{picture} is missing or empty"


def test_the_document_covers_what_a_reader_needs_in_order():
    headings = [h.lower() for h in re.findall(r"^## (.+)$", DOC.read_text(), re.M)]
    wanted = ["tensor", "backward", "rules", "double", "penalty", "gradcheck", "cupy"]
    positions = []
    for word in wanted:
        found = [i for i, h in enumerate(headings) if word in h]
        assert found, f"no section about {word!r} in {headings}"
        positions.append(found[0])
    assert positions == sorted(positions), f"sections out of order: {headings}"


if __name__ == "__main__":  # regenerate the pictures: run the blocks from the repository root
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    _, n = run_blocks(DOC.read_text())
    print(f"\nran {n} blocks of {DOC.relative_to(ROOT)}; pictures in docs/images/")
