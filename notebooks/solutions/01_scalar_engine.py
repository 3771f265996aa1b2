"""Solutions to the exercises of notebook 01 (a scalar engine). Each works on the notebook's
``Value`` class: it makes new values with ``type(v)``, so it needs nothing else from it."""
import math


def tanh(v):
    """Exercise 1: tanh, whose derivative 1 - tanh^2 is written with the output."""
    out = type(v)(math.tanh(v.data), (v,), "tanh")

    def _backward():
        v.grad += out.grad * (1 - out.data ** 2)
    out._backward = _backward
    return out


def exp(v):
    """Exercise 1: exp, its own derivative."""
    out = type(v)(math.exp(v.data), (v,), "exp")

    def _backward():
        v.grad += out.grad * out.data
    out._backward = _backward
    return out


def zero_grad(root):
    """Exercise 2: grad = 0 on ``root`` and on everything it was made from."""
    stack, seen = [root], set()
    while stack:
        v = stack.pop()
        if v not in seen:
            seen.add(v)
            v.grad = 0.0
            stack.extend(v._parents)


def fit_line(Value, xs, ys, steps=2000, lr=0.05):
    """Exercise 3: the line w x + c minimising the mean squared error, by gradient descent."""
    w, c = Value(0.0), Value(0.0)
    for _ in range(steps):
        loss = sum((w * x + c - y) ** 2 for x, y in zip(xs, ys)) / len(xs)
        w.grad = c.grad = 0.0
        loss.backward()
        w.data -= lr * w.grad
        c.data -= lr * c.grad
    return w.data, c.data
