"""A Playground setting as one immutable value, and its short shareable string.

The string is readable and editable by hand, so a teacher can write one on the board::

    pg1;data=xor;digits=3,8;noise=0;train=50;feat=x1,x2;net=4,2;act=tanh;reg=none;
    rate=0;lr=0.03;batch=10;seed=0;test=0;disc=0

(one line, no spaces). Export always writes every key; import fills keys that are
left out with their defaults, so ``pg1;data=spiral;net=8,8`` is a valid setting too.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from mapping_lib import _checks
from mapping_lib.playground.features import FEATURE_NAMES

CLASSIFICATION_SETS = ("circle", "xor", "gauss", "spiral", "digits")
REGRESSION_SETS = ("reg-plane", "reg-gauss")
DATASETS = CLASSIFICATION_SETS + REGRESSION_SETS
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
REGULARIZATIONS = ("none", "l1", "l2")
LEARNING_RATES = (1e-5, 1e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REGULARIZATION_RATES = (0.0, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
MAX_LAYERS = 6
MAX_NEURONS = 8
PREFIX = "pg1"


@dataclass(frozen=True)
class PlaygroundConfig:
    """Everything that decides what the Playground shows and how it trains.

    ``dataset`` picks the problem: circle, xor, gauss, spiral and digits are
    classification, reg-plane and reg-gauss regression. ``digits`` names the two
    classes of the 8x8 digits used by the real-data mode. ``noise`` and
    ``train_percent`` are percentages as in TensorFlow Playground. ``seed`` drives
    all randomness: the data, the initial weights and the mini-batch order; it runs from 0
    to ``MAX_SEED`` (2**32 - 1), as the book's seeds do.
    """

    dataset: str = "circle"
    digits: tuple[int, int] = (3, 8)
    noise: int = 0
    train_percent: int = 50
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[int, ...] = (4, 2)
    activation: str = "tanh"
    regularization: str = "none"
    regularization_rate: float = 0.0
    learning_rate: float = 0.03
    batch_size: int = 10
    seed: int = 0
    show_test: bool = False
    discretize: bool = False

    def __post_init__(self) -> None:
        _checks.one_of("dataset", self.dataset, DATASETS)
        digits = tuple(self.digits)
        if len(digits) != 2 or digits[0] == digits[1]:
            raise ValueError(f"digits must be two different digits 0-9, got {self.digits!r}")
        for digit in digits:
            _checks.in_range("digits", _checks.non_negative_int("digits", digit), 0, 9, closed="[]")
        object.__setattr__(self, "digits", (int(digits[0]), int(digits[1])))
        _checks.in_range("noise", _checks.non_negative_int("noise", self.noise), 0, 50, closed="[]")
        percent = _checks.positive_int("train_percent", self.train_percent)
        _checks.in_range("train_percent", percent, 10, 90, closed="[]")
        self._check_features()
        self._check_hidden()
        _checks.one_of("activation", self.activation, ACTIVATIONS)
        _checks.one_of("regularization", self.regularization, REGULARIZATIONS)
        rate = _checks.non_negative_float("regularization_rate", self.regularization_rate)
        _checks.in_range("regularization_rate", rate, 0.0, 10.0, closed="[]")
        object.__setattr__(self, "regularization_rate", rate)
        lr = _checks.in_range("learning_rate", self.learning_rate, 1e-5, 10.0, closed="[]")
        object.__setattr__(self, "learning_rate", lr)
        batch = _checks.positive_int("batch_size", self.batch_size)
        _checks.in_range("batch_size", batch, 1, 30, closed="[]")
        _checks.seed("seed", self.seed)  # far larger seeds overflow the weights' int64 seeds
        for flag in ("show_test", "discretize"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"{flag} must be a bool, got {getattr(self, flag)!r}")

    def _check_features(self) -> None:
        if isinstance(self.features, str):
            raise TypeError(
                f"features must be a sequence of names, got the string {self.features!r}"
            )
        chosen = set(self.features)
        for name in chosen:
            _checks.one_of("features", name, FEATURE_NAMES)
        if not chosen:
            raise ValueError("features must name at least one input feature, got none")
        # One canonical order, so equal settings give equal strings.
        object.__setattr__(self, "features", tuple(n for n in FEATURE_NAMES if n in chosen))

    def _check_hidden(self) -> None:
        hidden = tuple(self.hidden)
        if len(hidden) > MAX_LAYERS:
            raise ValueError(f"hidden must have at most {MAX_LAYERS} layers, got {len(hidden)}")
        for units in hidden:
            _checks.positive_int("hidden", units)
            _checks.in_range("hidden", units, 1, MAX_NEURONS, closed="[]")
        object.__setattr__(self, "hidden", tuple(int(u) for u in hidden))

    @property
    def problem(self) -> str:
        """``"classification"`` or ``"regression"``, decided by the data set."""
        return "regression" if self.dataset in REGRESSION_SETS else "classification"

    def replace(self, **changes: Any) -> PlaygroundConfig:
        """A copy with some fields changed (validated like a new config)."""
        return dataclasses.replace(self, **changes)

    def to_string(self) -> str:
        """The whole setting, seed included, as one short line (see the module docstring)."""
        fields = {
            "data": self.dataset,
            "digits": ",".join(str(d) for d in self.digits),
            "noise": str(self.noise),
            "train": str(self.train_percent),
            "feat": ",".join(self.features),
            "net": ",".join(str(u) for u in self.hidden),
            "act": self.activation,
            "reg": self.regularization,
            "rate": _number(self.regularization_rate),
            "lr": _number(self.learning_rate),
            "batch": str(self.batch_size),
            "seed": str(self.seed),
            "test": str(int(self.show_test)),
            "disc": str(int(self.discretize)),
        }
        return ";".join([PREFIX] + [f"{key}={value}" for key, value in fields.items()])

    @classmethod
    def from_string(cls, text: str) -> PlaygroundConfig:
        """Parse a string written by :meth:`to_string`; any mistake raises a ValueError."""
        if not isinstance(text, str):
            raise TypeError(f"config string must be a str, got {type(text).__name__}")
        items = [item.strip() for item in text.strip().split(";")]
        if items[0] != PREFIX:
            raise ValueError(f"config string must start with '{PREFIX};', got {text[:20]!r}")
        values: dict[str, str] = {}
        for item in items[1:]:
            if not item:
                continue
            key, sep, value = item.partition("=")
            key = key.strip()
            if not sep:
                raise ValueError(f"config string item {item!r} must look like key=value")
            if key not in _PARSERS:
                known = ", ".join(_PARSERS)
                raise ValueError(f"config string has unknown key {key!r}; known keys: {known}")
            if key in values:
                raise ValueError(f"config string sets {key!r} twice")
            values[key] = value.strip()
        kwargs = {}
        for key, value in values.items():
            field, parse = _PARSERS[key]
            try:
                kwargs[field] = parse(value)
            except ValueError as error:
                raise ValueError(f"config string: {key}={value!r} is not valid ({error})") from None
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as error:
            raise ValueError(f"config string: {error}") from None


def _number(value: float) -> str:
    # repr gives the shortest text that reads back to the same float: 0.03, 1e-05.
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",")) if text else ()


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",")) if text else ()


def _flag(text: str) -> bool:
    if text not in ("0", "1"):
        raise ValueError("expected 0 or 1")
    return text == "1"


_PARSERS = {
    "data": ("dataset", str),
    "digits": ("digits", _ints),
    "noise": ("noise", int),
    "train": ("train_percent", int),
    "feat": ("features", _names),
    "net": ("hidden", _ints),
    "act": ("activation", str),
    "reg": ("regularization", str),
    "rate": ("regularization_rate", float),
    "lr": ("learning_rate", float),
    "batch": ("batch_size", int),
    "seed": ("seed", int),
    "test": ("show_test", _flag),
    "disc": ("discretize", _flag),
}


TENSORFLOW_PLAYGROUND = "https://playground.tensorflow.org/"

_TF_FEATURES = {
    "x1": "x",
    "x2": "y",
    "x1^2": "xSquared",
    "x2^2": "ySquared",
    "x1*x2": "xTimesY",
    "sin(x1)": "sinX",
    "sin(x2)": "sinY",
}
# TensorFlow Playground's own names; it has no 'digits', and spells the penalties in capitals.
_TF_DATASETS = ("circle", "xor", "gauss", "spiral", "reg-plane", "reg-gauss")
_TF_REGULARIZATIONS = {"none": "none", "l1": "L1", "l2": "L2"}


def tensorflow_playground_url(config: PlaygroundConfig | str) -> str:
    """The same setting in TensorFlow Playground, as a link with the setting in its hash.

    TensorFlow Playground reads every field of a :class:`PlaygroundConfig` but the digits.
    It draws its own data and initial weights from the seed and trains a tanh output with
    squared error, so its pictures look alike but its numbers differ from ours.

    Args:
        config: the setting, as a config or a config string.

    Raises:
        ValueError: for a setting TensorFlow Playground cannot show (the digits data set).
    """
    if isinstance(config, str):
        config = PlaygroundConfig.from_string(config)
    if not isinstance(config, PlaygroundConfig):
        raise TypeError(f"config must be a PlaygroundConfig or a config string, got {config!r}")
    if config.dataset not in _TF_DATASETS:
        raise ValueError(
            f"dataset must be one of {', '.join(_TF_DATASETS)} for TensorFlow Playground, "
            f"got {config.dataset!r}"
        )
    regression = config.problem == "regression"
    fields = {
        "activation": config.activation,
        "regularization": _TF_REGULARIZATIONS[config.regularization],
        "batchSize": str(config.batch_size),
        ("regDataset" if regression else "dataset"): config.dataset,
        "learningRate": _number(config.learning_rate),
        "regularizationRate": _number(config.regularization_rate),
        "noise": str(config.noise),
        "networkShape": ",".join(str(u) for u in config.hidden),
        "seed": str(config.seed),
        "showTestData": str(config.show_test).lower(),
        "discretize": str(config.discretize).lower(),
        "percTrainData": str(config.train_percent),
        **{tf: str(name in config.features).lower() for name, tf in _TF_FEATURES.items()},
        "cosX": "false",  # features it has and we do not
        "cosY": "false",
        "problem": config.problem,
    }
    return TENSORFLOW_PLAYGROUND + "#" + "&".join(f"{key}={value}" for key, value in fields.items())
