"""Pictures of the recorded graph: Graphviz DOT text, and a PNG (or SVG, PDF) when Graphviz's
``dot`` program is installed.

    import minigrad as mg
    from minigrad import viz

    w = mg.randn(3, 2, requires_grad=True)
    x = mg.randn(4, 3)
    y = (x @ w).tanh().sum()
    print(viz.to_dot(y, names={w: "w", x: "x"}))   # the DOT text
    viz.draw(y, "graph.png", names={w: "w", x: "x"})   # graph.png, or graph.dot and a warning

What is drawn is exactly what ``backward()`` walks: starting from the given tensors, every
tensor reachable through the parents of its ``grad_fn``. A tensor made by an operation is one
node labelled with its op (``grad_fn.op``) and its shape; a leaf is a box. Colours say what requires grad:

- blue box: a parameter (an ``nn.Parameter``, the weights a module owns);
- green box: any other leaf that requires grad (an input you differentiate with respect to,
  such as the interpolated images of the gradient penalty);
- white dashed box: a constant (requires_grad False: data, masks, numbers);
- yellow ellipse: the result of a recorded op (it requires grad, since only those are recorded);
- a double border marks the tensors the picture was drawn from.

The gradient that ``grad(..., create_graph=True)`` returns has a graph of its own (the
backward pass, recorded): draw it like any tensor. Pass ``forward=`` the forward output to
grey out the nodes the two graphs share, so that what the backward pass added stands out.

The traversal is iterative, so graphs of any depth can be drawn (whether Graphviz lays out a
graph of thousands of nodes in reasonable time is another matter: see ``max_nodes``).
"""
import os
import shutil
import subprocess
import warnings
from pathlib import Path

from .tensor import Tensor

DOT_PROGRAM = "dot"
FORMATS = ("png", "svg", "pdf")

STYLES = {  # kind -> Graphviz node attributes
    "parameter": dict(shape="box", style="filled", fillcolor="#a6cee3"),
    "input": dict(shape="box", style="filled", fillcolor="#b2df8a"),
    "constant": dict(shape="box", style="dashed", color="#808080", fontcolor="#606060"),
    "op": dict(shape="ellipse", style="filled", fillcolor="#fdeaa7"),
    "shared": dict(shape="ellipse", style="filled", fillcolor="#e8e8e8", color="#a0a0a0",
                   fontcolor="#707070"),
}


class GraphvizNotFoundWarning(UserWarning):
    """``draw`` wrote the DOT text but could not make the image: ``dot`` is not installed."""


def has_dot(program=None):
    """True if Graphviz's ``dot`` program (or ``program``) can be found on PATH."""
    return shutil.which(program or DOT_PROGRAM) is not None


def _roots(tensors):
    roots = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    for i, t in enumerate(roots):
        if not isinstance(t, Tensor):
            raise TypeError(f"viz: expected Tensors to draw, got {type(t).__name__} "
                            f"at position {i}")
    return roots


def _names(names):
    """{id(tensor): name} from a {tensor: name} dict, a {name: tensor} dict (such as
    ``dict(module.named_parameters())``), or a Module."""
    if names is None:
        return {}
    if hasattr(names, "named_parameters"):
        names = dict(names.named_parameters())
    result = {}
    for key, value in dict(names).items():
        tensor, name = (value, key) if isinstance(key, str) else (key, value)
        if not isinstance(tensor, Tensor):
            raise TypeError(f"viz: names must pair tensors with names, got {type(tensor).__name__} "
                            f"for {name!r}")
        result[id(tensor)] = str(name)
    return result


def _walk(roots, show_constants, max_nodes):
    """The tensors reachable from ``roots`` in discovery order (breadth-first, iterative), and
    the edges (parent, child) between them, each once per use."""
    nodes, seen, edges = [], set(), []
    queue = list(roots)
    for r in roots:
        seen.add(id(r))
    head = 0
    while head < len(queue):
        t = queue[head]
        head += 1
        nodes.append(t)
        for p in (() if t.grad_fn is None else t.grad_fn.parents):
            if not show_constants and not p.requires_grad:
                continue
            edges.append((p, t))
            if id(p) not in seen:
                seen.add(id(p))
                queue.append(p)
        if max_nodes is not None and len(queue) > max_nodes:
            raise ValueError(f"viz: the graph has more than max_nodes={max_nodes} tensors; "
                             "pass a larger max_nodes (or None) to draw it anyway")
    return nodes, edges


def _is_parameter(t):
    from .nn.module import Parameter  # here, not at import time: nn imports the engine
    return isinstance(t, Parameter)


def _kind(t):
    if t.grad_fn is not None:
        return "op"
    if not t.requires_grad:
        return "constant"
    return "parameter" if _is_parameter(t) else "input"


def _quote(text):
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(attrs):
    return "[" + ", ".join(f"{k}={_quote(v)}" for k, v in attrs.items()) + "]"


def _shape(shape):
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _label(t, kind, name, show_dtype):
    lines = []
    if name is not None:
        lines.append(name)
    if kind == "op":
        node = t.grad_fn  # freed: backward() ran through it without retain_graph
        lines.append(f"{node.op} (freed)" if node.freed else node.op)
    elif kind == "constant" and name is None:
        if t.numel() == 1 and t.ndim == 0:  # a number: show it
            return f"{t.item():.4g}" + (f" {t.dtype}" if show_dtype else "")
        lines.append("const")
    lines.append(_shape(t.shape) + (f" {t.dtype}" if show_dtype else ""))
    return "\n".join(lines)


def to_dot(tensors, names=None, forward=None, show_constants=True, show_dtype=False,
           rankdir="BT", legend=False, title=None, max_nodes=10000):
    """The graph recorded behind ``tensors`` (one Tensor or several) as Graphviz DOT text.

    names: labels for some tensors: {tensor: "name"}, {"name": tensor} (for example
        ``dict(model.named_parameters())``), or a Module (its parameters' dotted names).
    forward: a tensor (or tensors) whose graph is drawn as context: the nodes of ``tensors``'
        graph that also belong to ``forward``'s are greyed out (op results) so that the rest,
        typically what a backward pass with create_graph=True added, stands out.
    show_constants: draw the parents that do not require grad (data, masks, scalars).
    rankdir: Graphviz's layout direction; "BT" puts the inputs at the bottom and the result
        at the top, "LR" draws left to right.
    legend: add a key to the colours. title: a caption.
    max_nodes: refuse graphs with more tensors than this (None: no limit).
    """
    roots = _roots(tensors)
    labels = _names(names)
    nodes, edges = _walk(roots, show_constants, max_nodes)
    shared = set()
    if forward is not None:
        shared = {id(t) for t in _walk(_roots(forward), True, None)[0]}
    root_ids = {id(r) for r in roots}
    ids = {id(t): f"t{i}" for i, t in enumerate(nodes)}

    graph = dict(rankdir=rankdir, fontname="Helvetica", nodesep="0.25", ranksep="0.35")
    node = dict(fontname="Helvetica", fontsize="11", margin="0.08,0.04", height="0.3")
    out = ["digraph minigrad {",
           f"  graph {_attrs(graph)};",
           f"  node {_attrs(node)};",
           f"  edge {_attrs(dict(color='#505050', arrowsize='0.6'))};"]
    if title:
        out.append(f"  label={_quote(title)}; labelloc=\"t\"; fontsize=\"13\";")
    for t in nodes:
        kind = _kind(t)
        style = STYLES["shared" if kind == "op" and id(t) in shared else kind]
        attrs = dict(style, label=_label(t, kind, labels.get(id(t)), show_dtype))
        if id(t) in root_ids:
            attrs["peripheries"] = "2"
        attrs["tooltip"] = (f"{kind}, shape {_shape(t.shape)}, {t.dtype}, "
                            f"requires_grad={t.requires_grad}")
        out.append(f"  {ids[id(t)]} {_attrs(attrs)};")
    for parent, child in edges:
        out.append(f"  {ids[id(parent)]} -> {ids[id(child)]};")
    if legend:
        table = _legend_table(with_shared=forward is not None)  # an HTML-like label: <...>
        out.append(f"  legend [shape=\"plaintext\", margin=\"0\", label=<{table}>];")
    out.append("}")
    return "\n".join(out) + "\n"


def _legend_table(with_shared):
    """The key to the colours, as one node with an HTML-like table label."""
    rows = [("parameter", "parameter"), ("input", "other leaf, requires grad"),
            ("constant", "constant (no grad)"), ("op", "result of an op")]
    if with_shared:
        rows.append(("shared", "also in the forward graph"))
    cells = []
    for kind, text in rows:
        style = STYLES[kind]
        fill = style.get("fillcolor", "white")
        border = ' style="dashed"' if "dashed" in style["style"] else ""
        cells.append(f'<tr><td border="1" bgcolor="{fill}"{border} width="14"></td>'
                     f'<td align="left"><font point-size="9">{text}</font></td></tr>')
    return ('<table border="0" cellborder="0" cellspacing="2" cellpadding="2">'
            + "".join(cells) + "</table>")


def render(dot_source, path, program=None):
    """Write ``dot_source`` as an image at ``path`` (.png, .svg or .pdf), running Graphviz.

    Returns the image's Path. If ``dot`` is not installed, writes the DOT text next to it
    (same name, suffix .dot), warns with GraphvizNotFoundWarning saying how to get Graphviz and
    how to make the image later, and returns the .dot file's Path.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt == "dot" or fmt == "gv":
        path.write_text(dot_source)
        return path
    if fmt not in FORMATS:
        raise ValueError(f"viz: cannot tell the image format from {str(path)!r}: use a name "
                         f"ending in one of {', '.join('.' + f for f in FORMATS + ('dot',))}")
    program = program or DOT_PROGRAM
    executable = shutil.which(program)
    if executable is None:
        dot_path = path.with_suffix(".dot")
        dot_path.write_text(dot_source)
        warnings.warn(
            f"Graphviz's {program!r} program was not found on PATH, so {path} was not made; "
            f"the graph's DOT text is in {dot_path}. Install Graphviz (Debian/Ubuntu: "
            f"apt-get install graphviz; macOS: brew install graphviz; conda: conda install "
            f"graphviz), then run: {program} -T{fmt} {dot_path} -o {path}",
            GraphvizNotFoundWarning, stacklevel=3)
        return dot_path
    done = subprocess.run([executable, f"-T{fmt}", "-o", os.fspath(path)],
                          input=dot_source.encode(), capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"viz: {program} failed (exit {done.returncode}) making {path}: "
                           f"{done.stderr.decode(errors='replace').strip()}")
    return path


def draw(tensors, path, program=None, **options):
    """Draw the graph behind ``tensors`` to ``path`` (.png, .svg, .pdf, or .dot for the text).

    ``options`` are ``to_dot``'s (names, forward, show_constants, rankdir, legend, title, ...).
    Returns the Path written: the image, or, when Graphviz is not installed, the .dot file
    (with a GraphvizNotFoundWarning).
    """
    return render(to_dot(tensors, **options), path, program=program)
