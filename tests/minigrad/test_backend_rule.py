"""The backend rule, checked statically: only minigrad/backend.py knows that CuPy exists, and no
NumPy function is applied to a tensor's array outside it.

The rule, as checked on every module under minigrad/ and wgan/ with ``ast`` (the source is
parsed, never imported):

1. No CuPy import outside minigrad/backend.py: no ``import cupy``, ``import cupyx``,
   ``from cupy... import``, ``__import__("cupy...")`` or ``importlib.import_module("cupy...")``.

2. Device modules (minigrad/tensor.py, minigrad/ops/, minigrad/nn/, minigrad/optim/) call NumPy
   only for metadata. Their arrays may be CuPy arrays, so every array operation goes through
   ``backend.xp_of(...)`` / ``backend.xp_of_device(...)``. A call of a NumPy function, however
   numpy was imported (``np.f(...)``, ``numpy.linalg.f(...)``, ``from numpy import f``), is
   allowed only if ``f`` takes shapes, dtypes or Python scalars and never array data
   (METADATA_FUNCTIONS: broadcast_shapes, result_type, dtype, ...) or is a NumPy scalar type
   (``np.float32(0.5)``), and even then not with a tensor's array among its arguments (see 3).
   Mentioning NumPy names that are not calls (``dtype=np.float32``) is fine. A deliberate host
   computation may be allowed by a comment ``# host: <why>`` on the call's first line.

3. Everywhere else outside backend.py (the host-side modules gradcheck.py, serialization.py,
   cpu_kernels.py (called with NumPy arrays only), wgan/), a NumPy call must
   not take a tensor's array: no argument may read ``.array`` (the Tensor's array) unless it
   only reads its metadata (``.array.shape``, ``.dtype``, ``.ndim``, ``.size``) or passes it
   through ``backend.to_host(...)`` / ``backend.host_copy(...)`` first. (``x.numpy()`` is
   the public way to the host and needs no exception.)

4. Nothing outside backend.py calls ``.get()`` with no arguments: that is CuPy's device-to-host
   copy (``dict.get`` always takes a key), which belongs in ``backend.to_host``.

Rules 2-4 are about the source; the CuPy stand-in (tests/support/cupy_standin.py) enforces the same at
run time in the device suite, where any NumPy function applied to device data raises.
"""
import ast
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
BACKEND = "minigrad/backend.py"
DEVICE_MODULES = ("minigrad/tensor.py", "minigrad/ops/", "minigrad/nn/", "minigrad/optim/")
METADATA_FUNCTIONS = {"broadcast_shapes", "result_type", "promote_types", "can_cast", "dtype",
                      "iinfo", "finfo", "min_scalar_type", "isdtype", "issubdtype"}
METADATA_ATTRIBUTES = {"shape", "dtype", "ndim", "size", "device", "requires_grad"}
TO_HOST = {"to_host", "host_copy", "numpy", "item"}


def _is_scalar_type(name):
    value = getattr(np, name, None)
    return isinstance(value, type) and issubclass(value, np.generic)


def _dotted(node):
    """'a.b.c' for a chain of attributes on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id] + parts[::-1])
    return None


class _Checker(ast.NodeVisitor):
    def __init__(self, path, source):
        self.path, self.lines = path, source.splitlines()
        self.device_module = any(path == m or (m.endswith("/") and path.startswith(m))
                                 for m in DEVICE_MODULES)
        self.numpy_modules = set()   # names bound to numpy (or a numpy submodule)
        self.numpy_names = {}        # bare name -> numpy function name (from numpy import f)
        self.problems = []

    def problem(self, node, message):
        self.problems.append(f"{self.path}:{node.lineno}: {message}")

    # ---- rule 1: imports ----
    def visit_Import(self, node):
        for alias in node.names:
            if alias.name.split(".")[0] in ("cupy", "cupyx"):
                self.problem(node, f"imports {alias.name}: only {BACKEND} may know CuPy")
            if alias.name.split(".")[0] == "numpy":
                self.numpy_modules.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node):
        module = node.module or ""
        if module.split(".")[0] in ("cupy", "cupyx"):
            self.problem(node, f"imports from {module}: only {BACKEND} may know CuPy")
        if module.split(".")[0] == "numpy":
            for alias in node.names:
                target = getattr(np, alias.name, None) if module == "numpy" else None
                if isinstance(target, type(np)):
                    self.numpy_modules.add(alias.asname or alias.name)
                else:
                    self.numpy_names[alias.asname or alias.name] = alias.name

    # ---- calls: rules 1-4 ----
    def visit_Call(self, node):
        name = self._numpy_function(node.func)
        if name is not None:
            self._check_numpy_call(node, name)
        dotted = _dotted(node.func) or ""
        if dotted in ("__import__", "importlib.import_module") and node.args and \
                isinstance(node.args[0], ast.Constant) and str(node.args[0].value).startswith("cupy"):
            self.problem(node, f"imports {node.args[0].value} dynamically: only {BACKEND} may "
                               "know CuPy")
        if isinstance(node.func, ast.Attribute) and node.func.attr == "get" and \
                not node.args and not node.keywords:
            self.problem(node, ".get() with no arguments is CuPy's device-to-host copy: use "
                               "backend.to_host (or Tensor.numpy())")
        self.generic_visit(node)

    def _numpy_function(self, func):
        """The NumPy name a call's function refers to ('zeros', 'linalg.norm'), or None."""
        if isinstance(func, ast.Name):
            return self.numpy_names.get(func.id)
        dotted = _dotted(func)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        return rest if head in self.numpy_modules and rest else None

    def _check_numpy_call(self, node, name):
        line = self.lines[node.lineno - 1]
        if "# host:" in line:
            return
        reads = [arg for arg in list(node.args) + [k.value for k in node.keywords]
                 if self._reads_tensor_data(arg)]
        if reads:
            self.problem(node, f"numpy.{name}() is applied to a tensor's array "
                               f"({ast.unparse(reads[0])}): use backend.xp_of(array).{name} on "
                               "device data, or backend.to_host() first")
        elif self.device_module and not (name in METADATA_FUNCTIONS or _is_scalar_type(name)):
            self.problem(node, f"numpy.{name}() in a device module: its arrays may live on the "
                               "GPU; use backend.xp_of(array) / xp_of_device(device), or mark a "
                               "deliberate host computation with '# host: <why>'")

    def _reads_tensor_data(self, node):
        """True if ``node`` reads some ``.array`` (a Tensor's array) beyond its metadata,
        outside a transfer to the host."""
        parents = {}
        for parent in ast.walk(node):
            for child in ast.iter_child_nodes(parent):
                parents[child] = parent
        for sub in ast.walk(node):
            if not (isinstance(sub, ast.Attribute) and sub.attr == "array"):
                continue
            if self._numpy_function(sub) is not None:  # np.array itself, not a tensor's array
                continue
            parent = parents.get(sub)
            if isinstance(parent, ast.Attribute) and parent.attr in METADATA_ATTRIBUTES:
                continue
            if self._inside_transfer(sub, parents):
                continue
            return True
        return False

    @staticmethod
    def _inside_transfer(node, parents):
        while node in parents:
            node = parents[node]
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in TO_HOST:
                    return True
        return False


def violations(source, path):
    """The rule's violations in ``source``, a module at ``path`` (relative to the repository)."""
    if path == BACKEND:
        return []
    checker = _Checker(path, source)
    checker.visit(ast.parse(source, filename=path))
    return checker.problems


def test_the_source_keeps_the_backend_rule():
    files = sorted(p for folder in ("minigrad", "wgan") for p in (ROOT / folder).rglob("*.py"))
    assert any(p.name == "backend.py" for p in files) and len(files) > 15
    problems = []
    for path in files:
        relative = path.relative_to(ROOT).as_posix()
        problems += violations(path.read_text(), relative)
    assert not problems, "the backend rule is broken:\n  " + "\n  ".join(problems)


# ---- the checker itself: it must catch what it is for, and nothing legitimate ----

CAUGHT = {
    "import cupy": ("minigrad/ops/conv.py", "import cupy\n"),
    "import cupy as cp": ("wgan/train.py", "import cupy as cp\n"),
    "from cupyx import scipy": ("minigrad/nn/layers.py", "from cupyx import scipy\n"),
    "from cupy import ndarray": ("minigrad/tensor.py", "from cupy import ndarray\n"),
    "importlib": ("minigrad/gradcheck.py", "import importlib\ncp = importlib.import_module('cupy')\n"),
    "np.sum on .array": ("minigrad/ops/reduce.py", "import numpy as np\ny = np.sum(x.array)\n"),
    "np.exp on .array, bare name": ("minigrad/ops/elementwise.py",
                                   "from numpy import exp\ny = exp(x.array * 2)\n"),
    "numpy.linalg.norm on .array": ("minigrad/gradcheck.py",
                                   "import numpy\nn = numpy.linalg.norm(g.array)\n"),
    "np.asarray on .array in a host module": ("wgan/plots.py",
                                            "import numpy as np\na = np.asarray(t.array)\n"),
    "np.result_type of an array": ("minigrad/tensor.py",
                                   "import numpy as np\nd = np.result_type(like.array, 1.0)\n"),
    "np.zeros in a device module": ("minigrad/ops/shape.py",
                                    "import numpy as np\nz = np.zeros(x.shape)\n"),
    "np.sqrt of a raw array in an optimizer": ("minigrad/optim/adam.py",
                                               "import numpy as np\nd = np.sqrt(v) + eps\n"),
    "np.random in a device module": ("minigrad/nn/init.py",
                                     "import numpy as np\nu = np.random.rand(3)\n"),
    ".get()": ("minigrad/serialization.py", "host = t.array.get()\n"),
}

ALLOWED = {
    "broadcast_shapes on shapes": ("minigrad/ops/elementwise.py",
                                   "import numpy as np\nnp.broadcast_shapes(a.shape, b.shape)\n"),
    "result_type on dtypes": ("minigrad/tensor.py",
                              "import numpy as np\nnp.result_type(like.array.dtype, value)\n"),
    "dtype and scalar types": ("minigrad/nn/layers.py",
                               "import numpy as np\nd = np.dtype(np.float32)\nh = np.float32(0.5)\n"),
    "NumPy names that are not calls": ("minigrad/tensor.py",
                                       "import numpy as np\nzeros(3, dtype=np.float32)\n"),
    "the array module of the data": ("minigrad/ops/elementwise.py",
                                     "y = backend.xp_of(x.array).exp(x.array)\n"),
    "host data in a host module": ("minigrad/gradcheck.py",
                                   "import numpy as np\n"
                                   "s = np.sum(backend.to_host(o.array).astype(np.float64) * u)\n"
                                   "e = np.eye(1, x.size, 3)\n"),
    "a marked host computation": ("minigrad/ops/elementwise.py",
                                  "import numpy as np\nm = np.zeros(shape)  # host: a mask\n"),
    "dict.get with a key": ("minigrad/optim/adam.py", "t = state.get('step', 0) + 1\n"),
    "numpy() of a tensor": ("wgan/train.py", "import numpy as np\na = np.clip(t.numpy(), 0, 1)\n"),
    "a config's data field": ("wgan/train.py", "data.load_dataset(config.data)\n"),
    "backend.py itself": (BACKEND, "import cupy\nimport numpy as np\nnp.asarray(a.array)\n"),
}


@pytest.mark.parametrize("case", list(CAUGHT))
def test_the_checker_catches(case):
    path, source = CAUGHT[case]
    assert violations(source, path), f"not caught: {source!r} in {path}"


@pytest.mark.parametrize("case", list(ALLOWED))
def test_the_checker_allows(case):
    path, source = ALLOWED[case]
    assert violations(source, path) == []
