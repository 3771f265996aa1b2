"""minigrad.viz: the recorded graph as DOT text, and as an image when Graphviz is installed.

Every test passes without Graphviz: the one that renders a PNG is skipped when ``dot`` is
missing, and the missing-``dot`` path is tested by naming a program that does not exist.
"""
import re
import stat
import sys
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import viz

from devices import leaf, tensor, to_device


def nodes(dot):
    """{node id: attribute text} of the tensor nodes in a DOT text."""
    return dict(re.findall(r"^  (t\d+) \[(.*)\];$", dot, re.M))


def edges(dot):
    return re.findall(r"^  (t\d+) -> (t\d+);$", dot, re.M)


def node_with(dot, label):
    """The attributes of the one node whose label is exactly ``label``."""
    found = [a for a in nodes(dot).values() if f'label="{label}"' in a]
    assert len(found) == 1, f"{len(found)} nodes labelled {label!r} in\n{dot}"
    return found[0]


def small_graph():
    lin = to_device(mg.nn.Linear(3, 2))
    x = tensor(np.ones((4, 3), np.float32), requires_grad=True)
    y = (lin(x).tanh() * 2.0).sum()
    return lin, x, y


def test_ops_shapes_and_kinds_of_tensor():
    lin, x, y = small_graph()
    dot = viz.to_dot(y, names=lin)
    assert dot.startswith("digraph minigrad {") and dot.rstrip().endswith("}")
    for label in ("sum\\n()", "mul\\n(4, 2)", "tanh\\n(4, 2)", "add\\n(4, 2)", "matmul\\n(4, 2)",
                  "permute\\n(3, 2)"):
        assert "ellipse" in node_with(dot, label)
    weight = node_with(dot, "weight\\n(2, 3)")
    bias = node_with(dot, "bias\\n(2,)")
    blue, green = viz.STYLES["parameter"]["fillcolor"], viz.STYLES["input"]["fillcolor"]
    assert blue in weight and blue in bias
    assert green in node_with(dot, "(4, 3)")   # x: a leaf that requires grad, not a parameter
    constant = node_with(dot, "2")                                          # the number, shown
    assert "dashed" in constant and "requires_grad=False" in constant
    assert 'peripheries="2"' in node_with(dot, "sum\\n()")
    assert sum('peripheries="2"' in a for a in nodes(dot).values()) == 1
    # 10 tensors, 9 edges: sum<-mul, mul<-tanh, mul<-2, tanh<-add, add<-matmul, add<-bias,
    # matmul<-x, matmul<-permute, permute<-weight
    assert len(nodes(dot)) == 10 and len(edges(dot)) == 9


def test_edges_run_from_parent_to_child_once_per_use():
    a = leaf([1.0, 2.0])
    square = a * a
    dot = viz.to_dot(square, names={a: "a"})
    ids = {re.search(r'label="([^"]*)"', attrs).group(1): node for node, attrs in nodes(dot).items()}
    assert edges(dot) == [(ids["a\\n(2,)"], ids["mul\\n(2,)"])] * 2


def test_names_in_every_form():
    lin, x, y = small_graph()
    by_tensor = viz.to_dot(y, names={lin.weight: "W", x: "input"})
    by_name = viz.to_dot(y, names={"W": lin.weight, "input": x})
    assert by_tensor == by_name
    assert 'label="W\\n(2, 3)"' in by_tensor and 'label="input\\n(4, 3)"' in by_tensor
    assert 'label="weight\\n(2, 3)"' in viz.to_dot(y, names=lin)
    assert 'label="weight\\n(2, 3)"' in viz.to_dot(y, names=dict(lin.named_parameters()))
    with pytest.raises(TypeError, match="names must pair tensors with names"):
        viz.to_dot(y, names={"W": 3})


def test_quotes_and_backslashes_in_names_are_escaped():
    a = leaf([1.0])
    dot = viz.to_dot(a * 2, names={a: 'say "hi" \\ bye'})
    assert 'label="say \\"hi\\" \\\\ bye\\n(1,)"' in dot


def test_constants_can_be_left_out():
    lin, x, y = small_graph()
    dot = viz.to_dot(y, show_constants=False)
    assert "dashed" not in dot and 'label="2"' not in dot
    assert len(edges(dot)) == len(nodes(dot)) - 1


def test_a_leaf_alone_and_several_roots():
    a, b = leaf([1.0, 2.0]), leaf([3.0])
    alone = viz.to_dot(a)
    assert len(nodes(alone)) == 1 and not edges(alone)
    both = viz.to_dot([a * 2, b + 1])
    assert sum('peripheries="2"' in attrs for attrs in nodes(both).values()) == 2


def test_dtype_legend_title_and_direction():
    a = leaf([1.0, 2.0])
    dot = viz.to_dot(a.exp(), show_dtype=True, legend=True, title="my graph", rankdir="LR")
    assert 'label="exp\\n(2,) float64"' in dot
    assert "legend [" in dot and "parameter" in dot and "result of an op" in dot
    assert 'label="my graph"' in dot and 'rankdir="LR"' in dot


def test_the_gradient_graph_of_create_graph_is_drawn_and_forward_nodes_greyed():
    """The graph a gradient penalty differentiates: grad(D(x), x, create_graph=True)."""
    lin = to_device(mg.nn.Linear(3, 1)).to(dtype=np.float64)
    x = leaf(np.ones((4, 3)))
    score = lin(x).tanh().sum()
    (g,) = mg.grad(score, x, create_graph=True)
    assert g.requires_grad
    dot = viz.to_dot(g, names=lin, forward=score, legend=True)
    shared = viz.STYLES["shared"]["fillcolor"]
    op = viz.STYLES["op"]["fillcolor"]
    assert shared in node_with(dot, "tanh\\n(4, 1)")        # the forward node tanh's rule reads
    top = next(a for a in nodes(dot).values() if 'peripheries="2"' in a)
    assert 'label="matmul\\n(4, 3)"' in top and op in top    # g itself: recorded by backward
    assert "weight\\n(1, 3)" in dot                          # the weight reaches the gradient,
    assert "bias\\n(1,)" in dot                              # and the bias, through tanh's rule
    assert "also in the forward graph" in dot
    penalty = ((g * g).sum(axis=1).sqrt() - 1) ** 2
    assert len(nodes(viz.to_dot(penalty.mean()))) > len(nodes(dot))


def test_a_graph_freed_by_backward_says_so():
    a = leaf([1.0, 2.0])
    y = (a.exp() * 3).sum()
    y.backward()
    dot = viz.to_dot(y)
    assert "sum (freed)" in dot and len(nodes(dot)) == 1


def test_deep_graphs_are_walked_without_recursion():
    a = leaf([1.0])
    t = a
    for _ in range(3 * sys.getrecursionlimit()):
        t = t * 1.0
    dot = viz.to_dot(t, show_constants=False, max_nodes=None)
    assert len(nodes(dot)) == 3 * sys.getrecursionlimit() + 1
    with pytest.raises(ValueError, match="more than max_nodes=100"):
        viz.to_dot(t, max_nodes=100)


def test_not_a_tensor_is_refused():
    with pytest.raises(TypeError, match="expected Tensors to draw, got ndarray at position 1"):
        viz.to_dot([leaf([1.0]), np.ones(2)])


def test_draw_without_graphviz_writes_the_dot_text_and_says_how_to_get_the_image(tmp_path):
    lin, x, y = small_graph()
    target = tmp_path / "graph.png"
    with pytest.warns(viz.GraphvizNotFoundWarning) as caught:
        written = viz.draw(y, target, program="no-such-graphviz-program", names=lin)
    assert written == tmp_path / "graph.dot" and not target.exists()
    assert written.read_text() == viz.to_dot(y, names=lin)
    message = str(caught[0].message)
    assert "'no-such-graphviz-program' program was not found" in message
    assert "apt-get install graphviz" in message and str(written) in message
    assert f"no-such-graphviz-program -Tpng {written} -o {target}" in message
    assert not viz.has_dot("no-such-graphviz-program")


def test_draw_to_a_dot_file_needs_no_graphviz(tmp_path):
    a = leaf([1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        written = viz.draw(a.exp(), tmp_path / "g.dot", program="no-such-graphviz-program")
    assert written.read_text() == viz.to_dot(a.exp())


def test_unknown_image_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot tell the image format"):
        viz.draw(leaf([1.0]), tmp_path / "graph.jpeg")


def test_a_failing_dot_program_is_reported(tmp_path):
    fake = tmp_path / "fake-dot"
    fake.write_text("#!/bin/sh\necho 'syntax error in line 1' >&2\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(RuntimeError, match=r"failed \(exit 3\).*syntax error in line 1"):
        viz.draw(leaf([1.0]), tmp_path / "g.png", program=str(fake))


@pytest.mark.skipif(not viz.has_dot(), reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_draw_with_graphviz_makes_the_image(tmp_path, suffix, magic):
    lin, x, y = small_graph()
    (g,) = mg.grad(y, x, create_graph=True)
    target = tmp_path / f"graph{suffix}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        written = viz.draw(g, target, names=lin, forward=y, legend=True, title="a title")
    assert written == target and target.read_bytes().startswith(magic)
    assert not (tmp_path / "graph.dot").exists()


def test_viz_is_part_of_the_package():
    assert mg.viz is viz
