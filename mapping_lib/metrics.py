"""How good is a classifier? Accuracy, the confusion matrix and per-class scores (NumPy).

Every function takes the true classes and the predictions in whichever form is at hand:

- ``y_true``: integer labels (shape (N,) or (N, 1)) or one-hot rows (N, C).
- ``y_pred``: integer labels, rows of C >= 2 scores (logits or probabilities: the predicted
  class is the largest), or one score per example for a binary classifier (shape (N,) or
  (N, 1) of floats): a probability, class 1 when above 0.5, or with ``from_logits=True`` a
  logit, class 1 when above 0. Floats outside [0, 1] without ``from_logits=True`` are
  rejected: they are logits (or labels stored as floats), and thresholding them at 0.5 would
  give a wrong answer silently.

Zero division: a class that is never predicted has precision 0, a class that never occurs
has recall 0, and F1 is 0 when precision and recall are both 0 (scikit-learn's
``zero_division=0``).

The counting itself is scikit-learn's (``sklearn.metrics``); this module adds what it does
not do: reading logits, probabilities and one-hot rows as classes, fixing the number of
classes, and errors that name the argument at fault.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sklearn.metrics

from mapping_lib import _checks

_SCORE_NAMES = ("precision", "recall", "f1-score")


def accuracy(y_true: Any, y_pred: Any, *, from_logits: bool = False) -> float:
    """Return the fraction of examples whose predicted class is the true class."""
    true, pred, _ = _label_pair(y_true, y_pred, from_logits)
    return float(sklearn.metrics.accuracy_score(true, pred))


def confusion_matrix(
    y_true: Any, y_pred: Any, num_classes: int | None = None, *, from_logits: bool = False
) -> np.ndarray:
    """Return the (C, C) matrix counting examples of true class i (row) predicted as j (column).

    ``num_classes`` defaults to the number of classes the inputs show: the largest label + 1,
    or the number of columns of one-hot rows or score rows.
    """
    true, pred, seen = _label_pair(y_true, y_pred, from_logits)
    num_classes = _class_count(num_classes, seen, "num_classes")
    matrix = sklearn.metrics.confusion_matrix(true, pred, labels=np.arange(num_classes))
    return matrix.astype(np.int64, copy=False)


class ClassificationReport(dict):
    """Per-class precision, recall, F1 and support, as a dict shaped like scikit-learn's.

    Keys: one per class name, each mapping to {"precision", "recall", "f1-score",
    "support"}; "accuracy"; "macro avg" (plain mean over classes) and "weighted avg"
    (weighted by support). ``str(report)`` is a table.
    """

    def __str__(self) -> str:
        rows = [name for name in self if name not in ("accuracy", "macro avg", "weighted avg")]
        width = max(len(name) for name in [*rows, "weighted avg"])
        header = f"{'':>{width}}  {'precision':>9}  {'recall':>9}  {'f1-score':>9}  {'support':>7}"
        lines = [header, ""]
        lines += [self._line(name, width) for name in rows]
        support = self["macro avg"]["support"]
        lines += ["", f"{'accuracy':>{width}}  {'':>9}  {'':>9}  {self['accuracy']:9.3f}  "
                  f"{support:7d}"]  # fmt: skip
        lines += [self._line(name, width) for name in ("macro avg", "weighted avg")]
        return "\n".join(lines)

    def _line(self, name: str, width: int) -> str:
        scores = self[name]
        values = "  ".join(f"{scores[key]:9.3f}" for key in _SCORE_NAMES)
        return f"{name:>{width}}  {values}  {scores['support']:7d}"


def classification_report(
    y_true: Any,
    y_pred: Any,
    class_names: Sequence[str] | None = None,
    *,
    from_logits: bool = False,
) -> ClassificationReport:
    """Return precision, recall, F1 and support per class, their averages and the accuracy.

    Classes are 0 .. C-1 with C = ``len(class_names)`` if given, else as many as the inputs
    show; unnamed classes are called "0", "1", ...
    """
    names = _check_class_names(class_names)
    true, pred, seen = _label_pair(y_true, y_pred, from_logits)
    num_classes = _class_count(None if names is None else len(names), seen, "class_names")
    names = names or [str(index) for index in range(num_classes)]

    labels = np.arange(num_classes)
    precision, recall, f1, support = sklearn.metrics.precision_recall_fscore_support(
        true, pred, labels=labels, average=None, zero_division=0
    )

    report = ClassificationReport()
    for index, name in enumerate(names):
        report[name] = _scores(precision[index], recall[index], f1[index], support[index])
    report["accuracy"] = float(sklearn.metrics.accuracy_score(true, pred))
    for average in ("macro", "weighted"):
        scores = sklearn.metrics.precision_recall_fscore_support(
            true, pred, labels=labels, average=average, zero_division=0
        )
        report[f"{average} avg"] = _scores(*scores[:3], len(true))
    return report


def _scores(precision: float, recall: float, f1: float, support: int) -> dict[str, Any]:
    return {
        "precision": float(precision),
        "recall": float(recall),
        "f1-score": float(f1),
        "support": int(support),
    }


def _label_pair(y_true: Any, y_pred: Any, from_logits: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """Both inputs as integer labels, plus how many classes they show."""
    if not isinstance(from_logits, bool):
        raise TypeError(f"from_logits must be True or False, got {from_logits!r}")
    true, true_classes = _true_labels(y_true)
    pred, pred_classes = _predicted_labels(y_pred, from_logits)
    _checks.same_length("y_true", true, "y_pred", pred)
    return true, pred, max(true_classes, pred_classes)


def _true_labels(y_true: Any) -> tuple[np.ndarray, int]:
    array = _examples("y_true", y_true)
    if _is_score_rows(array):
        return array.argmax(axis=1), array.shape[1]
    return _integer_labels("y_true", array.reshape(-1))


def _predicted_labels(y_pred: Any, from_logits: bool) -> tuple[np.ndarray, int]:
    array = _examples("y_pred", y_pred)
    if _is_score_rows(array):
        return array.argmax(axis=1), array.shape[1]
    scores = array.reshape(-1)
    if np.issubdtype(scores.dtype, np.integer) or scores.dtype == bool:
        return _integer_labels("y_pred", scores)
    if from_logits:
        return (scores > 0).astype(np.int64), 2
    if scores.min() < 0 or scores.max() > 1:
        raise ValueError(
            "y_pred holds one float per example with values outside [0, 1] "
            f"(from {scores.min():g} to {scores.max():g}): for logits pass from_logits=True, "
            "for predicted classes pass integer labels"
        )
    return (scores > 0.5).astype(np.int64), 2


def _examples(name: str, values: Any) -> np.ndarray:
    array = _checks.finite_array(name, values, ndim=(1, 2))
    if np.iscomplexobj(array):  # casting to labels or scores would drop the imaginary part
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if len(array) == 0:
        raise ValueError(f"{name} must hold at least one example, got shape {array.shape}")
    if array.size == 0:  # shape (N, 0): no label or score to read, min() would fail
        raise ValueError(
            f"{name} must hold a label or scores for each example, got shape {array.shape}"
        )
    return array


def _is_score_rows(array: np.ndarray) -> bool:
    return array.ndim == 2 and array.shape[1] > 1


def _integer_labels(name: str, labels: np.ndarray) -> tuple[np.ndarray, int]:
    labels = labels.astype(np.float64)  # one check for ints, bools and labels stored as floats
    if not np.all(labels == np.round(labels)) or labels.min() < 0:
        raise ValueError(
            f"{name} must hold non-negative integer class labels, "
            f"got values from {labels.min():g} to {labels.max():g}"
        )
    labels = labels.astype(np.int64)
    return labels, int(labels.max()) + 1


def _class_count(requested: int | None, seen: int, name: str) -> int:
    if requested is None:
        return seen
    requested = _checks.positive_int(name, requested)
    if seen > requested:
        raise ValueError(
            f"{name} allows {requested} classes, but the inputs show {seen} "
            f"(labels up to {seen - 1} or {seen} columns)"
        )
    return requested


def _check_class_names(class_names: Any) -> list[str] | None:
    if class_names is None:
        return None
    if isinstance(class_names, str) or not all(isinstance(n, str) for n in class_names):
        raise TypeError(f"class_names must be a sequence of strings, got {class_names!r}")
    names = list(class_names)
    if not names or len(set(names)) != len(names):
        raise ValueError(f"class_names must be distinct and non-empty, got {names!r}")
    reserved = {"accuracy", "macro avg", "weighted avg"} & set(names)
    if reserved:
        raise ValueError(f"class_names must not use the report's own keys, got {sorted(reserved)}")
    return names


@dataclass(frozen=True)
class PairedDifference:
    """``mean`` = accuracy of model A minus that of model B on the same ``n`` examples, and
    ``standard_error`` = std of the per-sentence differences / sqrt(n)."""

    mean: float
    standard_error: float
    n: int


def paired_difference(correct_a: Any, correct_b: Any) -> PairedDifference:
    """The accuracy difference of two models scored on the same examples, with its standard
    error. Pairing removes the variation between easy and hard examples, so the error is
    smaller than that of two independent accuracies.

    Args:
        correct_a, correct_b: per-example correctness (bool or 0/1) of the two models.
    """
    a = _checks.finite_array("correct_a", correct_a, ndim=1).astype(float)
    b = _checks.finite_array("correct_b", correct_b, ndim=1).astype(float)
    _checks.same_length("correct_a", a, "correct_b", b)
    if len(a) < 2:
        raise ValueError(f"correct_a must hold at least 2 examples, got {len(a)}")
    for name, values in (("correct_a", a), ("correct_b", b)):
        if not np.isin(values, (0.0, 1.0)).all():
            raise ValueError(f"{name} must hold only 0/1 or bool values")
    diff = a - b
    se = float(diff.std(ddof=1) / np.sqrt(len(diff)))
    return PairedDifference(float(diff.mean()), se, len(diff))
