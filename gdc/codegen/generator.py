"""The kernels every model's module holds, in order; each written once where its logic is shared.

Every sum over the samples is one slot of ONE fused pass: `_sums(params, *data, lo, hi)` sums
every body over samples lo..hi-1 (`_sums_at`: over `order[lo:hi]`), and `_finish` assembles
the loss and the gradient from the sums and 1/N. The public kernels around them (the loss,
the gradient, its parallel form, an epoch of minibatches) only run passes and finish them.

A subclass lowers the per-sample code (straight.py: straight-line code over scalars, temps
shared by cse; shaped.py: loop nests over elements) and says how the sums of one pass are
kept: returned as a tuple of scalars, or added into a flat array `acc` (the hooks below).
The generated text is public (the cache, the golden files): the hooks keep it byte for byte.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod

from .module import JIT, JIT_PARALLEL, check_module, join
from .plan import Plan
from .printer import HELPER_NAMES


class Generator(ABC):
    """One model's kernels; subclasses: StraightGenerator, ShapedGenerator."""

    fixed: frozenset  # the names the generator uses (module.FIXED_NAMES and its own)
    mangled: re.Pattern  # the forms of the names it makes from user names and counters
    attributes: frozenset = frozenset({"shape"})  # attributes of arrays it reads
    helpers: frozenset = HELPER_NAMES  # module-level helper functions (checked once, by hand)
    n_params: str  # the length of `params` in the generated code: a number, or `n_params`
    counter: str  # the loop variable over the parameters in minibatch_epoch's update

    def __init__(self, plan: Plan):
        self.plan = plan

    # ---------------------------------------------------------------- the module

    def module(self, parts: list[str]) -> str:
        """The module text of `parts`, checked to hold only gdc's own names."""
        body = join(parts)
        check_module(body, self.fixed, self.mangled, self.attributes, self.helpers)
        return body

    def kernels(self, loss_acc, grad_acc) -> list[str]:
        """The first-order kernels: passes and finishes of the loss alone and of the loss with
        its gradient (the accumulations are the subclass's), then the public kernels."""
        return [
            self.sums_function(loss_acc, "_loss_sums", indexed=False),
            self.finish_function(loss_acc, "_loss_finish", with_grad=False),
            self.sums_function(grad_acc, "_sums", indexed=False),
            self.sums_function(grad_acc, "_sums_at", indexed=True),
            self.finish_function(grad_acc, "_finish", with_grad=True),
            self.fused("loss", loss_acc, "_loss_sums", "_loss_finish"),
            self.fused("loss_grad", grad_acc, "_sums", "_finish", ("grad_out",)),
            self.loss_grad_parallel(grad_acc),
            self.sgd_epoch(),
            self.minibatch_epoch(grad_acc),
            self.predict(),
        ]

    # ---------------------------------------------------------------- shared kernels

    def fused(self, name: str, acc, sums: str, finish: str, outs: tuple[str, ...] = (), checks=None) -> str:
        """`name`(params, *data, *outs) -> the loss: one pass over every sample, then `finish`.
        The arrays are checked by `checks(f)` when given, else as `check` does with `outs`."""
        f = self.function(f"{name}(params, {self.args()}{''.join(', ' + o for o in outs)})")
        if checks is None:
            self.check(f, outs)
        else:
            checks(f)
        total = self.one_pass(f, acc, sums)
        f.emit(f"return {self.finish(finish, total, '1.0 / n', ''.join(', ' + o for o in outs))}")
        return f.source()

    def loss_grad_parallel(self, acc) -> str:
        """Fixed chunks, one partial sum each, added in chunk order: the same bits on any thread count."""
        f = self.function(f"loss_grad_parallel(params, {self.args()}, grad_out)", JIT_PARALLEL)
        self.check(f, ("grad_out",))
        f.emit(f"chunks = {self.chunk_table(f, acc)}")
        f.emit("for c in numba.prange(N_CHUNKS):")
        self.chunk_pass(f, acc, "c * n // N_CHUNKS, (c + 1) * n // N_CHUNKS")
        total = self.chunk_zeros(f, acc)
        f.emit("for c in range(N_CHUNKS):")
        self.chunk_add(f, acc)
        f.emit(f"return {self.finish('_finish', total, '1.0 / n', ', grad_out')}")
        return f.source()

    def minibatch_epoch(self, acc) -> str:
        """One update per batch of `batch_size` samples of `order` (the last may be smaller)."""
        f = self.function(f"minibatch_epoch(params, {self.args()}, lr, batch_size, order)")
        self.check(f)
        f.emit("if batch_size < 1:")
        f.emit('raise ValueError("batch_size must be at least 1")', 2)
        f.emit("m = order.shape[0]")
        f.emit(f"grad = np.empty({self.n_params})")
        self.batch_scratch(f, acc)
        f.emit("total = 0.0")
        f.emit("for lo in range(0, m, batch_size):")
        f.emit("hi = min(lo + batch_size, m)", 2)
        total = self.batch_pass(f, acc)
        f.emit(f"total += {self.finish('_finish', total, '1.0 / (hi - lo)', ', grad')} * (hi - lo)", 2)
        f.emit(f"for {self.counter} in range({self.n_params}):", 2)
        f.emit(f"params[{self.counter}] -= lr * grad[{self.counter}]", 3)
        f.emit("return total / m")
        return f.source()

    # ---------------------------------------------------------------- what a subclass lowers

    @abstractmethod
    def function(self, signature: str, decorator: str = JIT):
        """A new generated function: `emit(line, depth)`, then `source()`."""

    @abstractmethod
    def args(self) -> str:
        """The data arrays, as parameters or arguments: `d_x, d_Y`."""

    @abstractmethod
    def check(self, f, outs: tuple[str, ...] = ()) -> None:
        """`n` and the sizes; a ValueError for arrays that disagree (loops would read past one)."""

    @abstractmethod
    def sums_function(self, acc, name: str, indexed: bool) -> str:
        """Sum every body of `acc` over samples lo..hi-1 (of `order`, when indexed) in one pass."""

    @abstractmethod
    def finish_function(self, acc, name: str, with_grad: bool) -> str:
        """The loss (and the gradient, into grad_out) from the sums and 1/N."""

    @abstractmethod
    def sgd_epoch(self) -> str:
        """One update per sample, in `order`, on the per-sample objective."""

    @abstractmethod
    def predict(self) -> str:
        """The model's value per sample; a model without inputs gives one value."""

    # ---------------------------------------------------------------- how a subclass keeps sums

    @abstractmethod
    def one_pass(self, f, acc, kernel: str) -> str:
        """Emit a pass of `kernel` over all samples into new sums; return the text naming them."""

    @abstractmethod
    def finish(self, kernel: str, sums: str, inv_n: str, outs: str) -> str:
        """The call of a finish `kernel` on `sums`, as text."""

    @abstractmethod
    def chunk_table(self, f, acc) -> str:
        """An array with a row of sums per chunk, as text."""

    @abstractmethod
    def chunk_pass(self, f, acc, bounds: str) -> None:
        """Emit (inside the loop over chunks c) the pass of `_sums` over `bounds` into row c."""

    @abstractmethod
    def chunk_zeros(self, f, acc) -> str:
        """Emit zeroed sums for the total of the chunks; return the text naming them."""

    @abstractmethod
    def chunk_add(self, f, acc) -> None:
        """Emit (inside the loop over chunks c, in order) the addition of row c to the total."""

    @abstractmethod
    def batch_scratch(self, f, acc) -> None:
        """Emit what the batches' passes reuse, before the loop over the batches."""

    @abstractmethod
    def batch_pass(self, f, acc) -> str:
        """Emit the pass of `_sums_at` over `order[lo:hi]`; return the text naming its sums."""
