"""Activation functions as small objects that know their own slope.

A layer computes ``a = f(z)``. Its backward pass needs ``dL/dz = f'(z) * dL/da``, so each
``Activation`` carries both ``f`` and ``f'``. Softmax is the exception: every output of a row
depends on every input of that row, so its backward pass multiplies by the full Jacobian.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from mapping_lib._checks import non_negative_float, one_of

Slope = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


class Activation:
    """An elementwise function ``f`` together with its derivative.

    ``slope(z, a)`` returns ``da/dz`` given both the input ``z`` and the output ``a = f(z)``;
    sigmoid and tanh have slopes that are cheapest to write in terms of ``a``.
    """

    def __init__(
        self,
        name: str,
        forward: Callable[[tf.Tensor], tf.Tensor],
        slope: Slope,
        **params: float,
    ) -> None:
        self.name = name
        self.params = params
        self._forward = forward
        self._slope = slope

    def __call__(self, z: Any) -> tf.Tensor:
        """Return ``a = f(z)``."""
        return self._forward(tf.convert_to_tensor(z))

    def derivative(self, z: Any) -> tf.Tensor:
        """Return ``da/dz`` elementwise (for softmax: the diagonal of the Jacobian)."""
        z = tf.convert_to_tensor(z)
        return self._slope(z, self._forward(z))

    def backward(self, z: tf.Tensor, a: tf.Tensor, upstream: tf.Tensor) -> tf.Tensor:
        """Return ``dL/dz`` from the cached ``z``, ``a = f(z)`` and ``upstream = dL/da``."""
        return upstream * self._slope(z, a)

    def get_config(self) -> dict[str, Any]:
        """Return a JSON-friendly description that ``get`` turns back into this activation."""
        return {"name": self.name, **self.params}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Activation) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.get_config().items())))

    def __repr__(self) -> str:
        params = "".join(f", {key}={value!r}" for key, value in self.params.items())
        return f"Activation({self.name!r}{params})"


class _Softmax(Activation):
    def backward(self, z: tf.Tensor, a: tf.Tensor, upstream: tf.Tensor) -> tf.Tensor:
        # The Jacobian of one row is diag(a) - a a^T; its product with upstream needs no matrix.
        return a * (upstream - tf.reduce_sum(upstream * a, axis=-1, keepdims=True))


def _step(z: tf.Tensor) -> tf.Tensor:
    # Slope 0 at exactly z = 0, the same choice TensorFlow's own ReLU gradient makes.
    return tf.cast(z > 0, z.dtype)


sigmoid = Activation("sigmoid", tf.sigmoid, lambda z, a: a * (1 - a))
tanh = Activation("tanh", tf.tanh, lambda z, a: 1 - a * a)
relu = Activation("relu", tf.nn.relu, lambda z, a: _step(z))
linear = Activation("linear", tf.identity, lambda z, a: tf.ones_like(z))
softmax = _Softmax("softmax", tf.nn.softmax, lambda z, a: a * (1 - a))


def leaky_relu(alpha: float = 0.01) -> Activation:
    """Return ``f(z) = z`` for ``z > 0`` and ``alpha * z`` otherwise."""
    alpha = non_negative_float("alpha", alpha)
    return Activation(
        "leaky_relu",
        lambda z: tf.where(z > 0, z, alpha * z),
        lambda z, a: alpha + (1 - alpha) * _step(z),
        alpha=alpha,
    )


_FIXED = {a.name: a for a in (linear, sigmoid, tanh, relu, softmax)}


def get(identifier: str | dict[str, Any] | Activation | None) -> Activation:
    """Return the Activation for a name, a ``get_config()`` dict, an Activation, or None (linear).

    >>> get("relu") is relu
    True
    """
    if identifier is None:
        return linear
    if isinstance(identifier, Activation):
        return identifier
    if isinstance(identifier, dict):
        params = dict(identifier)
        name = params.pop("name", None)
    elif isinstance(identifier, str):
        name, params = identifier, {}
    else:
        raise TypeError(
            "activation must be a name, an Activation or None, "
            f"got {type(identifier).__name__} {identifier!r}"
        )
    one_of("activation", name, [*_FIXED, "leaky_relu"])
    if name == "leaky_relu":
        return leaky_relu(**params)
    if params:
        raise TypeError(f"activation {name!r} takes no parameters, got {params}")
    return _FIXED[name]
