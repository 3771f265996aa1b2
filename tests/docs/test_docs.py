"""The documents cannot rot: every ```python block of README.md and docs/*.md is run as a reader
would paste it, in order, one namespace per document, in a fresh empty directory, by a fresh
Python that has the repository installed (`pip install -e .`) and nothing else on its path
(not even the directory of this script). A failing block is reported with its number and the
line of the document it failed on, and a run that changes any file of the repository (tracked,
untracked or ignored, bar Python's caches) or leaves a new one fails too.

A block that needs something optional says so after the language, and is skipped, with the
reason, where that is missing (the blocks after it must not depend on it):

    ```python needs=torch          PyTorch installed
    ```python needs=graphviz       Graphviz's `dot` on the PATH
    ```python needs=gpu            a GPU that CuPy sees
    ```python needs=torch,gpu      both

A block written for PyTorch says `also=torch`: where PyTorch is installed it also runs alone,
in a fresh Python, with `minigrad` turned into `torch` on its import lines, so that what the
document calls PyTorch code is PyTorch code.

    ```python also=torch

Blocks that are not meant to run (shell commands, printed output) are fenced with another
language (```bash, ```text).

    python -m pytest -q tests/docs/test_docs.py         # check every document
    python tests/docs/test_docs.py docs/how-it-works.md # run a document's blocks here
    cd docs/images && python ../../tests/docs/test_docs.py ../how-it-works.md
                                                        # redraw the tour's pictures (Graphviz)
"""
import os
import re
import shutil
import subprocess
import sys
import traceback
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```python(?P<info>[^\n]*)\n(?P<code>.*?)^```[ \t]*$", re.S | re.M)
NEEDS = re.compile(r"needs=([\w,]+)")
IMPORT_LINE = re.compile(r"^[ \t]*(?:import|from)[ \t].*$", re.M)
SKIP_PREFIX = "skipped: "


def documents():
    """README.md and every docs/*.md, the documents a reader pastes from."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def python_blocks(text):
    """[(line of the block's first code line in the document, code, needs)], in order."""
    blocks = []
    for m in FENCE.finditer(text):
        needs = NEEDS.search(m.group("info"))
        blocks.append((text.count("\n", 0, m.start("code")) + 1, m.group("code"),
                       tuple(needs.group(1).split(",")) if needs else ()))
    return blocks


def pytorch_blocks(text):
    """[(line of the block's first code line, code with PyTorch's imports)] of the blocks marked
    ``also=torch``: ``minigrad`` becomes ``torch`` on their import lines."""
    return [(text.count("\n", 0, m.start("code")) + 1,
             IMPORT_LINE.sub(lambda line: re.sub(r"\bminigrad\b", "torch", line.group()),
                             m.group("code")))
            for m in FENCE.finditer(text) if "also=torch" in m.group("info").split()]


class BlockError(AssertionError):
    pass


def _missing(need):
    """Why an optional thing a block needs is missing here, or None if it is present."""
    if need == "graphviz":
        return None if shutil.which("dot") else "Graphviz's dot is not on the PATH"
    if need == "torch":
        try:
            import torch  # noqa: F401
        except ImportError:
            return "PyTorch is not installed"
        return None
    if need == "gpu":
        import minigrad as mg
        return None if mg.cuda.is_available() else "no GPU that CuPy sees"
    raise ValueError(f"unknown needs={need!r} (known: graphviz, torch, gpu)")


def run_blocks(text, name, log=print):
    """Run every block in one namespace; a failure raises BlockError naming block and line.
    Returns (namespace, number of blocks run, [reasons blocks were skipped])."""
    namespace = {"__name__": "__main__"}
    blocks = python_blocks(text)
    skipped = []
    for number, (first_line, code, needs) in enumerate(blocks, start=1):
        reasons = [r for r in map(_missing, needs) if r]
        if reasons:
            skipped.append(f"{name} block {number} (line {first_line}): {'; '.join(reasons)}")
            log(SKIP_PREFIX + skipped[-1])
            continue
        filename = f"<{name} block {number}>"
        try:
            exec(compile(code, filename, "exec"), namespace)
        except Exception as e:
            frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == filename]
            lineno = frames[-1].lineno if frames else getattr(e, "lineno", 1) or 1
            source_line = code.splitlines()[lineno - 1].strip() if code.splitlines() else ""
            raise BlockError(
                f"{name}: block {number} of {len(blocks)} failed at line "
                f"{first_line + lineno - 1} of the document ({source_line!r}):\n"
                f"{type(e).__name__}: {e}\n\n{traceback.format_exc()}") from None
    return namespace, len(blocks) - len(skipped), skipped


def main(paths):
    for path in paths:
        _, ran, skipped = run_blocks(Path(path).read_text(), Path(path).name)
        print(f"\nran {ran} blocks of {path}" + (f", skipped {len(skipped)}" if skipped else ""))
    return 0


# ---- the tests ----

pytestmark = pytest.mark.cpu_only("the documents' snippets make their tensors on the CPU")


def repository_state():
    """{path: its content} of every file git reports as changed, untracked or ignored (bar
    Python's and pytest's caches): the tracked files that match HEAD are in git's report as
    soon as they change, the others by what is in them."""
    done = subprocess.run(["git", "status", "--porcelain", "-z", "--ignored",
                           "--untracked-files=all"], cwd=ROOT, capture_output=True, text=True,
                          check=True)
    paths = [entry[3:] for entry in done.stdout.split("\0") if entry[2:3] == " "]
    return {path: (ROOT / path).read_bytes() if (ROOT / path).is_file() else None
            for path in paths if not re.search(r"__pycache__|\.pytest_cache", path)}


def paste(document, directory):
    """Run ``document``'s blocks as a reader pastes them: a new Python, ``directory`` as the
    working directory, and only what the installed packages provide on its path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-P", str(Path(__file__).resolve()), str(document)],
                          cwd=directory, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def pasted(tmp_path_factory):
    """{document name: (finished process, its directory)}, every document run once, and the
    repository's state before and after."""
    before = repository_state()
    runs = {}
    for document in documents():
        directory = tmp_path_factory.mktemp(document.stem)
        runs[document.name] = (paste(document, directory), directory)
    return runs, before, repository_state()


@pytest.mark.parametrize("name", [d.name for d in documents()])
def test_every_python_block_runs_in_order_from_a_fresh_directory(pasted, name):
    done, _ = pasted[0][name]
    assert done.returncode == 0, f"{name}:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    assert "Traceback" not in done.stdout
    skipped = [line[len(SKIP_PREFIX):] for line in done.stdout.splitlines()
               if line.startswith(SKIP_PREFIX)]
    for reason in skipped:
        warnings.warn(f"not run: {reason}")


def test_pasting_the_documents_changes_nothing_in_the_repository(pasted):
    _, before, after = pasted
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    assert not changed, ("pasting the documents' snippets changed the repository:\n"
                         + "\n".join(changed))


def test_the_repository_state_sees_ignored_and_changed_files():
    probe = ROOT / "docs" / "probe-of-test_docs.png"    # ignored by git (*.png)
    before = repository_state()
    try:
        probe.write_bytes(b"one")
        first = repository_state()
        probe.write_bytes(b"two")
        assert first != before and repository_state() != first
    finally:
        probe.unlink()
    assert repository_state() == before


def test_a_pasted_document_has_neither_this_script_nor_the_repository_on_its_path(tmp_path):
    document = tmp_path / "path.md"
    document.write_text("```python\nimport sys\nprint(repr(sys.path))\n```\n")
    done = paste(document, tmp_path)
    assert done.returncode == 0, done.stderr
    assert repr(str(ROOT / "tests" / "docs")) not in done.stdout


@pytest.mark.parametrize("document", [d for d in documents() if pytorch_blocks(d.read_text())],
                         ids=lambda d: d.name)
def test_the_blocks_written_for_pytorch_run_with_pytorch(document, tmp_path):
    pytest.importorskip("torch")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(OPENBLAS_NUM_THREADS="1")
    for first_line, code in pytorch_blocks(document.read_text()):
        done = subprocess.run([sys.executable, "-P", "-c", code], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (f"{document.name}, the block at line {first_line}, "
                                      f"with PyTorch:\n{done.stderr[-3000:]}")


def test_a_block_for_pytorch_gets_pytorchs_imports():
    text = ("```python also=torch\nimport minigrad as torch\nfrom minigrad.nn import Linear\n"
            "x = minigrad_like = 1\n```\n\n```python\nimport minigrad\n```\n")
    assert pytorch_blocks(text) == [(2, "import torch as torch\nfrom torch.nn import Linear\n"
                                        "x = minigrad_like = 1\n")]


def test_the_tour_draws_only_the_pictures_it_shows(pasted):
    """The tour's blocks draw its pictures into the reader's directory (as .png with Graphviz,
    as .dot without); each one is a picture the document embeds from docs/images/."""
    text = (ROOT / "docs" / "how-it-works.md").read_text()
    drawn = sorted(p.stem for p in pasted[0]["how-it-works.md"][1].iterdir()
                   if p.suffix in (".png", ".dot"))
    assert len(drawn) >= 3, "the tour should draw the graphs it shows"
    for stem in drawn:
        assert f"](images/{stem}.png)" in text, f"{stem} is drawn but not shown"
        assert (ROOT / "docs" / "images" / f"{stem}.png").stat().st_size > 1000


def test_the_documents_have_many_snippets():
    counts = {d.name: len(python_blocks(d.read_text())) for d in documents()}
    assert counts["how-it-works.md"] >= 20 and counts["README.md"] >= 2, counts
    assert counts["pytorch.md"] >= 2, counts


def test_a_failing_block_is_reported_with_its_number_and_line():
    text = ("intro\n\n```python\nx = 1\n```\n\ntext\n\n"
            "```python\ny = x + 1\nassert y == 3, 'no'\n```\n")
    with pytest.raises(BlockError) as info:
        run_blocks(text, "example.md")
    message = str(info.value)
    assert "block 2 of 2" in message and "line 11 of the document" in message
    assert "assert y == 3" in message and "AssertionError: no" in message


def test_blocks_share_one_namespace_in_order(capsys):
    text = ("```python\nvalue = 41\n```\n\n```bash\nls\n```\n\n"
            "```python\nvalue += 1\nprint(value)\n```\n")
    namespace, count, skipped = run_blocks(text, "example.md")
    assert count == 2 and not skipped and namespace["value"] == 42
    assert capsys.readouterr().out == "42\n"


def test_a_block_that_needs_something_missing_is_skipped_with_the_reason(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    text = "```python needs=graphviz\nraise SystemExit('ran')\n```\n\n```python\nz = 1\n```\n"
    lines = []
    namespace, count, skipped = run_blocks(text, "example.md", log=lines.append)
    assert count == 1 and namespace["z"] == 1
    assert skipped == ["example.md block 1 (line 2): Graphviz's dot is not on the PATH"]
    assert lines == [SKIP_PREFIX + skipped[0]]
    with pytest.raises(ValueError, match="unknown needs='cuda'"):
        run_blocks("```python needs=cuda\npass\n```\n", "example.md")


def test_links_to_source_files_and_pictures_exist():
    for document in documents():
        text = document.read_text()
        targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
        local = [t for t in targets if not re.match(r"[a-z]+://", t)]
        missing = [t for t in local if not (document.parent / t).exists()]
        assert not missing, f"broken links in {document.name}: {missing}"
    text = (ROOT / "docs" / "how-it-works.md").read_text()
    assert "](../minigrad/" in text, "the tour should link to the source"


def test_the_tour_covers_what_a_reader_needs_in_order():
    headings = [h.lower() for h in re.findall(r"^## (.+)$",
                                              (ROOT / "docs" / "how-it-works.md").read_text(),
                                              re.M)]
    wanted = ["tensor", "backward", "rules", "double", "penalty", "gradcheck", "cupy"]
    positions = []
    for word in wanted:
        found = [i for i, h in enumerate(headings) if word in h]
        assert found, f"no section about {word!r} in {headings}"
        positions.append(found[0])
    assert positions == sorted(positions), f"sections out of order: {headings}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
