"""Optimizers: how a gradient becomes a step that changes the weights.

``SGD`` (plain, momentum, Nesterov) and ``Adam`` with their update rules written out. Both
subclass ``keras.optimizers.Optimizer`` the documented way: ``build(var_list)`` creates the
per-variable slots (momentum buffers, Adam's moments) and ``update_step(gradient, variable,
learning_rate)`` holds the rule. Keras' base class does the rest: ``apply_gradients``, the
``learning_rate`` variable (float32, settable: ``opt.learning_rate = 0.01`` or
``opt.learning_rate.assign(0.01)``; a ``LearningRateSchedule`` works too), ``iterations``
(int64, steps taken), ``model.compile``/``fit``, ``tf.distribute``, ``LossScaleOptimizer``,
checkpoints and ``get_config``. They produce the same numbers as ``keras.optimizers.SGD`` and
``keras.optimizers.Adam`` given the same gradients.

Optional weight penalties use the ``keras.regularizers.L1L2`` convention: the penalty
l1 * sum|w| + l2 * sum(w^2) adds l1 * sign(w) + 2 * l2 * w to each gradient before the update
(a *coupled* penalty: with Adam it is rescaled along with the gradient). Keras' own
``weight_decay=`` argument, also accepted here, is the *decoupled* alternative: it shrinks
w by learning_rate * weight_decay * w beside the update (AdamW's rule).

Like every Keras optimizer, one of these is built for the variables of its first
``apply_gradients`` call (inside a ``tf.function`` that is fine on the first trace) and then
serves those variables only. To give a compiled step that is traced again some variables
it has not met, call ``build(all_variables)`` first, eagerly; for another model, make a new
optimizer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras
import tensorflow as tf
from keras import ops

from mapping_lib._checks import in_range, non_negative_float, one_of, positive_float

Variable = tf.Variable | keras.Variable
LearningRate = float | keras.optimizers.schedules.LearningRateSchedule


def _checked_learning_rate(value: Any) -> Any:
    """A schedule (or a callable) as Keras takes it, else a positive float."""
    if callable(value):  # LearningRateSchedule objects are callable
        return value
    return positive_float("learning_rate", value)


def _checked_variable(argument: str, variable: Any) -> Variable:
    if not isinstance(variable, (tf.Variable, keras.Variable)):
        raise TypeError(
            f"{argument} must hold tf.Variable or keras.Variable objects, "
            f"got {type(variable).__name__}"
        )
    return variable


def _checked_pair(pair: Any) -> tuple[Any, Variable]:
    try:
        gradient, variable = pair
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"grads_and_vars must yield (gradient, variable) pairs, got {type(pair).__name__}"
        ) from error
    variable = _checked_variable("grads_and_vars", variable)
    shape = getattr(gradient, "shape", None)
    if shape is not None and not tf.TensorShape(shape).is_compatible_with(variable.shape):
        raise ValueError(
            f"gradient for variable {variable.name!r} must have shape "
            f"{tuple(variable.shape)}, got {tuple(shape)}"
        )
    return gradient, variable


class _PenalisedOptimizer(keras.optimizers.Optimizer):
    """What SGD and Adam add to Keras' base class: l1/l2 penalties and argument checks."""

    def __init__(self, learning_rate: LearningRate, l1: float, l2: float, **kwargs: Any) -> None:
        super().__init__(learning_rate=_checked_learning_rate(learning_rate), **kwargs)
        self.l1 = non_negative_float("l1", l1)
        self.l2 = non_negative_float("l2", l2)

    @property
    def learning_rate(self) -> Any:
        """The step size: a float32 variable (or the schedule's current value)."""
        return super().learning_rate

    @learning_rate.setter
    def learning_rate(self, value: LearningRate) -> None:
        keras.optimizers.Optimizer.learning_rate.fset(self, _checked_learning_rate(value))

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Variable]]) -> keras.Variable:
        """Update each variable from its gradient (None gradients are skipped).

        Returns ``iterations``, which grows by one per call.
        """
        pairs = [_checked_pair(pair) for pair in grads_and_vars]
        if not pairs:
            raise ValueError("grads_and_vars must hold at least one (gradient, variable) pair")
        return super().apply_gradients(pairs)

    def build(self, var_list: list[Variable]) -> None:
        """Register the variables this optimizer will update (subclasses add their slots)."""
        super().build([_checked_variable("var_list", variable) for variable in var_list])

    def _with_penalty(self, gradient: Any, variable: Variable) -> tf.Tensor:
        """g + d/dw [l1 * sum|w| + l2 * sum(w^2)] = g + l1 * sign(w) + 2 * l2 * w."""
        # Dense, in the variable's dtype (an embedding's gradient arrives as IndexedSlices).
        gradient = ops.cast(tf.convert_to_tensor(gradient), variable.dtype)
        if self.l1:
            gradient = gradient + self.l1 * ops.sign(variable)
        if self.l2:
            gradient = gradient + 2.0 * self.l2 * variable
        return gradient

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}


@keras.saving.register_keras_serializable(package="mapping_lib")
class SGD(_PenalisedOptimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    With learning rate eta, momentum mu and gradient g (penalties included)::

        mu = 0:   w <- w - eta * g
        mu > 0:   v <- mu * v - eta * g                 (velocity slot, starts at 0)
                  w <- w + v                            (classical momentum)
                  w <- w + mu * v - eta * g             (Nesterov: look ahead along v)

    Same as ``keras.optimizers.SGD``. Further keyword arguments (``weight_decay``,
    ``clipnorm``, ``name``, ...) go to ``keras.optimizers.Optimizer``.
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        l1: float = 0.0,
        l2: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, l1, l2, **kwargs)
        self.momentum = in_range("momentum", momentum, 0.0, 1.0)
        if not isinstance(nesterov, bool):
            raise TypeError(f"nesterov must be True or False, got {nesterov!r}")
        self.nesterov = nesterov

    def build(self, var_list: list[Variable]) -> None:
        """Create a velocity slot per variable (only with momentum)."""
        if self.built:
            return
        super().build(var_list)
        self.velocities = [
            self.add_variable_from_reference(variable, name="velocity")
            for variable in (var_list if self.momentum else [])
        ]

    def update_step(self, gradient: Any, variable: Variable, learning_rate: Any) -> None:
        """One step on ``variable``: the rule in the class docstring."""
        g = self._with_penalty(gradient, variable)
        eta = ops.cast(learning_rate, variable.dtype)
        if not self.momentum:
            self.assign_sub(variable, g * eta)  # w <- w - eta * g
            return
        mu = ops.cast(self.momentum, variable.dtype)
        v = self.velocities[self._get_variable_index(variable)]
        self.assign(v, v * mu - g * eta)  # v <- mu * v - eta * g
        if self.nesterov:
            self.assign_add(variable, v * mu - g * eta)  # w <- w + mu * v - eta * g
        else:
            self.assign_add(variable, v)  # w <- w + v

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


@keras.saving.register_keras_serializable(package="mapping_lib")
class Adam(_PenalisedOptimizer):
    """Adam: momentum on the gradient, scaled per weight by its recent gradient size.

    With learning rate eta, step t = iterations + 1 and gradient g (penalties included)::

        m <- m + (1 - beta_1) * (g - m)        running mean of g      (slot, starts at 0)
        v <- v + (1 - beta_2) * (g^2 - v)      running mean of g^2    (slot, starts at 0)
        alpha = eta * sqrt(1 - beta_2^t) / (1 - beta_1^t)    (undoes the bias towards 0)
        w <- w - alpha * m / (sqrt(v) + epsilon)

    Same as ``keras.optimizers.Adam`` (epsilon is added after the bias correction, as there).
    Further keyword arguments (``weight_decay``, ``clipnorm``, ``name``, ...) go to
    ``keras.optimizers.Optimizer``.
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        l1: float = 0.0,
        l2: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, l1, l2, **kwargs)
        self.beta_1 = in_range("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = in_range("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = positive_float("epsilon", epsilon)

    def build(self, var_list: list[Variable]) -> None:
        """Create the two moment slots, m and v, per variable."""
        if self.built:
            return
        super().build(var_list)
        self.means = [self.add_variable_from_reference(w, name="m") for w in var_list]
        self.squares = [self.add_variable_from_reference(w, name="v") for w in var_list]

    def update_step(self, gradient: Any, variable: Variable, learning_rate: Any) -> None:
        """One step on ``variable``: the rule in the class docstring."""
        g = self._with_penalty(gradient, variable)
        eta = ops.cast(learning_rate, variable.dtype)
        t = ops.cast(self.iterations + 1, variable.dtype)
        index = self._get_variable_index(variable)
        m, v = self.means[index], self.squares[index]
        # As in Keras: 1 - beta in Python floats here, but beta^t below from beta rounded to
        # float32. The two roundings differ by ~1e-5 of a step, enough to drift otherwise.
        self.assign_add(m, (g - m) * (1.0 - self.beta_1))  # m <- m + (1 - beta_1)(g - m)
        self.assign_add(v, (ops.square(g) - v) * (1.0 - self.beta_2))  # v: same with g^2
        beta_1_power = ops.power(ops.cast(self.beta_1, variable.dtype), t)
        beta_2_power = ops.power(ops.cast(self.beta_2, variable.dtype), t)
        alpha = eta * ops.sqrt(1.0 - beta_2_power) / (1.0 - beta_1_power)
        self.assign_sub(variable, m * alpha / (ops.sqrt(v) + self.epsilon))

    def get_config(self) -> dict[str, Any]:
        config = {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
        return {**super().get_config(), **config}


def _momentum_sgd(**kwargs: Any) -> SGD:
    kwargs.setdefault("momentum", 0.9)
    return SGD(**kwargs)


_BY_NAME = {"sgd": SGD, "momentum": _momentum_sgd, "adam": Adam}


def get(name_or_obj: str | keras.optimizers.Optimizer, **kwargs: Any) -> keras.optimizers.Optimizer:
    """Return an optimizer by name, built with ``kwargs``, or pass an optimizer through.

    Names: "sgd", "momentum" (SGD with momentum=0.9 unless given) and "adam". Optimizer
    objects, ours or Keras's, are returned unchanged.
    """
    if isinstance(name_or_obj, keras.optimizers.Optimizer):
        if kwargs:
            raise TypeError(
                "optimizer settings can only be given with an optimizer name, got an "
                f"optimizer object and {sorted(kwargs)}"
            )
        return name_or_obj
    if not isinstance(name_or_obj, str):
        raise TypeError(
            f"optimizer must be an optimizer name or object, got {type(name_or_obj).__name__}"
        )
    return _BY_NAME[one_of("optimizer", name_or_obj.lower(), _BY_NAME)](**kwargs)
