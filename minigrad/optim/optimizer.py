"""The base class of the optimizers: parameter groups, the step loop, and state_dicts.

An optimizer holds references to parameters (Tensors) and updates their arrays in place,
``p.array``, with array arithmetic: no graph is recorded, and modules, other optimizers and
earlier state_dicts keep seeing the same arrays. Parameters whose ``.grad`` is None are
skipped. Subclasses write one rule, ``_update(param, grad, state, group)``, on raw arrays.
"""
from .. import backend
from ..tensor import Tensor


class Optimizer:
    """``params``: an iterable of Tensors, or of dicts ({"params": [...], "lr": ...}) that form
    parameter groups with their own hyperparameters (the others come from ``defaults``)."""

    def __init__(self, params, defaults):
        for key in ("lr", "eps", "momentum", "dampening", "weight_decay", "alpha", "lr_decay"):
            if key in defaults and defaults[key] < 0:
                raise ValueError(f"invalid {key} {defaults[key]}: must be >= 0")
        self.defaults = defaults
        self.param_groups = []
        self.state = {}  # parameter -> {name: array or step count}
        params = list(params)
        if not params:
            raise ValueError("the optimizer got an empty list of parameters")
        for group in params if isinstance(params[0], dict) else [{"params": params}]:
            self.add_param_group(group)

    def add_param_group(self, group):
        group = {**self.defaults, **group}
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        known = {id(p) for g in self.param_groups for p in g["params"]}
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"an optimizer optimizes Tensors, got a {type(p).__name__}")
            if not p.is_leaf:
                raise TypeError(f"cannot optimize a non-leaf tensor (shape {p.shape}), the result "
                                "of an operation: optimize the leaf tensors it was computed from")
            if id(p) in known:
                raise ValueError(f"a parameter of shape {p.shape} appears in more than one "
                                 "parameter group, or twice")
            known.add(id(p))
        self.param_groups.append(group)

    def zero_grad(self):
        """Forget the gradients (``.grad = None``) of every parameter."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self):
        """One update of every parameter that has a gradient.

        What the optimizers share happens here: the gradient g is negated when ``maximize``,
        and weight decay (an L2 penalty) adds lambda * param to it, unless the group decouples
        it (``decoupled_weight_decay``: AdamW's rule, which shrinks the parameter instead).
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.array
                if group["maximize"]:
                    grad = -grad
                if group["weight_decay"] and not group.get("decoupled_weight_decay"):
                    grad = grad + group["weight_decay"] * p.array
                self._update(p.array, grad, self.state.setdefault(p, {}), group)
                p._changed_in_place()

    def _update(self, param, grad, state, group):
        """Change the array ``param`` in place, given its gradient ``grad`` (never modified),
        its per-parameter ``state`` dict and its group's hyperparameters."""
        raise NotImplementedError

    @staticmethod
    def _zeros(state, name, like):
        """state[name], created as zeros shaped like ``like`` on first use."""
        if name not in state:
            state[name] = backend.xp_of(like).zeros_like(like)
        return state[name]

    # ---- saving and resuming ----
    def state_dict(self):
        """{"state": {index: {name: value}}, "param_groups": [group with "params" as indices]}.

        Parameters are numbered in group order, as PyTorch does, so the dict can be loaded by
        an optimizer built the same way over another copy of the model. Arrays are the live
        state: save them (``mg.save``) to keep a snapshot.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and state saved by ``state_dict``; arrays are copied onto
        each parameter's device with its dtype, so training continues exactly."""
        saved_groups = state_dict["param_groups"]
        sizes = [len(g["params"]) for g in self.param_groups]
        saved_sizes = [len(g["params"]) for g in saved_groups]
        if sizes != saved_sizes:
            raise ValueError(f"the state_dict has parameter groups of sizes {saved_sizes}, this "
                             f"optimizer {sizes}")
        params = {}
        for group, saved in zip(self.param_groups, saved_groups):
            params.update(zip(saved["params"], group["params"]))
        state = {}
        for i, saved_state in state_dict["state"].items():
            p = params[i]
            state[p] = {}
            for name, value in saved_state.items():
                if hasattr(value, "shape"):
                    array = value.array if isinstance(value, Tensor) else value
                    if array.shape != p.shape:
                        raise ValueError(f"state {name!r} of parameter {i} has shape "
                                         f"{tuple(array.shape)}, the parameter {p.shape}")
                    value = backend.to_device(array, p.device).astype(p.dtype)
                state[p][name] = value
        for group, saved in zip(self.param_groups, saved_groups):
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state = state
