"""Solutions to the exercises of notebook 02 (backward and the graph)."""
import numpy as np

import minigrad as mg


def parents_of(t):
    return t.grad_fn.parents if t.grad_fn is not None else ()


def nodes_of(root):
    """Every tensor ``root`` was made from, each after its parents (the notebook's walk)."""
    order, seen = [], set()

    def visit(t):
        if id(t) not in seen:
            seen.add(id(t))
            for p in parents_of(t):
                visit(p)
            order.append(t)
    visit(root)
    return order


def accumulated_nodes(root):
    """Exercise 1: the tensors used as a parent more than once, in topological order."""
    uses = {}
    for t in nodes_of(root):
        for p in parents_of(t):
            uses[id(p)] = uses.get(id(p), 0) + 1
    return [t for t in nodes_of(root) if uses.get(id(t), 0) > 1]


def gradient_by_hand(root, leaf):
    """Exercise 2: d root / d leaf, running each node's rules in reverse topological order."""
    grads = {id(root): mg.ones_like(root)}
    with mg.no_grad():
        for t in reversed(nodes_of(root)):
            g = grads.get(id(t))
            if g is None or t.grad_fn is None:
                continue
            for parent, vjp in zip(t.grad_fn.parents, t.grad_fn.vjps):
                contribution = vjp(g, t)
                grads[id(parent)] = (contribution if id(parent) not in grads
                                     else grads[id(parent)] + contribution)
    return grads[id(leaf)]


def jacobian(f, x):
    """Exercise 3: the Jacobian d f(x)_i / d x_j of a function from a vector to a vector."""
    x = x.detach().requires_grad_()
    y = f(x)
    rows = []
    for i in range(y.shape[0]):
        one_hot = np.zeros(y.shape, dtype=y.dtype)
        one_hot[i] = 1
        (row,) = mg.grad(y, x, grad_outputs=mg.tensor(one_hot), retain_graph=True)
        rows.append(row.numpy())
    return np.stack(rows)
