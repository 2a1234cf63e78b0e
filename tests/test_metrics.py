"""mapping_lib.metrics against hand-counted examples and brute-force loops.

The module calls scikit-learn to count, so comparing it with scikit-learn would test
scikit-learn against itself. The references here are independent: numbers worked out by hand
on a small example, and plain Python loops over the examples on random data.
"""

import numpy as np
import pytest

from mapping_lib import metrics

CLASSES = 4

# A small example worked out by hand (rows: true class, columns: predicted class).
HAND_TRUE = [0, 0, 0, 1, 1, 2, 2, 2]
HAND_PRED = [0, 1, 0, 1, 1, 2, 0, 1]
HAND_MATRIX = [[2, 1, 0], [0, 2, 0], [1, 1, 1]]
# Column sums 3, 4, 1 (predicted), row sums 3, 2, 3 (actual), diagonal 2, 2, 1.
HAND_SCORES = {
    "0": {"precision": 2 / 3, "recall": 2 / 3, "f1-score": 2 / 3, "support": 3},
    "1": {"precision": 1 / 2, "recall": 1.0, "f1-score": 2 / 3, "support": 2},
    "2": {"precision": 1.0, "recall": 1 / 3, "f1-score": 1 / 2, "support": 3},
    "accuracy": 5 / 8,
    "macro avg": {"precision": 13 / 18, "recall": 2 / 3, "f1-score": 11 / 18, "support": 8},
    # Weighted by the supports 3, 2, 3 out of 8; weighted recall is the accuracy.
    "weighted avg": {"precision": 3 / 4, "recall": 5 / 8, "f1-score": 29 / 48, "support": 8},
}


@pytest.fixture
def labels_and_logits():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, CLASSES, size=60)
    logits = rng.normal(size=(60, CLASSES))
    # Make most predictions right so every class has a mix of hits and misses.
    logits[np.arange(60), y_true] += rng.uniform(0, 2.5, size=60)
    return y_true, logits


def softmax(logits):
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def scores_with_argmax(predicted, classes, seed=0):
    """Random logits whose largest entry in row i is at column predicted[i]."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(predicted), classes))
    logits[np.arange(len(predicted)), predicted] = logits.max(axis=1) + 1.0
    return logits


def loop_confusion(y_true, y_pred, classes):
    matrix = [[0] * classes for _ in range(classes)]
    for true, pred in zip(y_true, y_pred):
        matrix[true][pred] += 1
    return np.array(matrix)


def loop_scores(y_true, y_pred, cls):
    """Precision, recall, F1 and support of one class, counted example by example."""
    hits = sum(1 for t, p in zip(y_true, y_pred) if t == p == cls)
    predicted = sum(1 for p in y_pred if p == cls)
    actual = sum(1 for t in y_true if t == cls)
    precision = hits / predicted if predicted else 0.0
    recall = hits / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1-score": f1, "support": actual}


def test_accuracy_on_the_hand_example_in_every_input_form():
    one_hot = np.eye(3)[HAND_TRUE]
    logits = scores_with_argmax(HAND_PRED, 3)
    # y_true may store its labels as floats; y_pred may not (see the bad-input tests).
    for true in (HAND_TRUE, np.array(HAND_TRUE, dtype=float)[:, None], one_hot):
        for pred in (HAND_PRED, logits, softmax(logits)):
            assert metrics.accuracy(true, pred) == pytest.approx(5 / 8)


def test_accuracy_reads_labels_one_hot_logits_and_probabilities(labels_and_logits):
    y_true, logits = labels_and_logits
    predicted = logits.argmax(axis=1)
    expected = sum(int(t == p) for t, p in zip(y_true, predicted)) / len(y_true)
    one_hot = np.eye(CLASSES)[y_true]
    assert 0.3 < expected < 1.0
    for true in (y_true, y_true[:, None], one_hot):
        for pred in (predicted, logits, softmax(logits)):
            assert metrics.accuracy(true, pred) == pytest.approx(expected)


def test_binary_scores_use_the_right_threshold():
    y_true = np.array([0, 1, 1, 0, 1])
    # Above 0.5 is class 1; exactly 0.5 is class 0. Predicted: 0, 1, 0, 1, 1.
    probabilities = np.array([0.1, 0.6, 0.5, 0.9, 1.0])
    # The same decisions as logits: above 0 is class 1, exactly 0 is class 0.
    logits = np.array([-2.0, 0.3, 0.0, 1.5, 4.0])
    for true in (y_true, y_true.astype(float), y_true[:, None]):
        assert metrics.accuracy(true, probabilities) == pytest.approx(3 / 5)
        assert metrics.accuracy(true, probabilities[:, None]) == pytest.approx(3 / 5)
        assert metrics.accuracy(true, logits, from_logits=True) == pytest.approx(3 / 5)
    # Logits thresholded at 0.5 would be a silent mistake: rejected instead.
    with pytest.raises(ValueError, match="outside \\[0, 1\\].*from_logits=True"):
        metrics.accuracy(y_true, logits)
    # Booleans and integers are labels, never thresholded.
    assert metrics.accuracy(y_true, y_true.astype(bool)) == 1.0
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, probabilities), [[1, 1], [1, 2]])


def test_confusion_matrix_on_the_hand_example():
    logits = scores_with_argmax(HAND_PRED, 3)
    for pred in (HAND_PRED, logits, softmax(logits)):
        matrix = metrics.confusion_matrix(HAND_TRUE, pred)
        np.testing.assert_array_equal(matrix, HAND_MATRIX)
        assert matrix.dtype == np.int64
    # Rows are true classes, columns predicted ones: the transpose would be a different matrix.
    assert not np.array_equal(np.transpose(HAND_MATRIX), HAND_MATRIX)


def test_confusion_matrix_matches_a_loop_over_the_examples(labels_and_logits):
    y_true, logits = labels_and_logits
    expected = loop_confusion(y_true, logits.argmax(axis=1), CLASSES)
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, logits), expected)
    np.testing.assert_array_equal(metrics.confusion_matrix(np.eye(CLASSES)[y_true], logits),
                                  expected)  # fmt: skip
    # Rows are true classes: row sums are the class counts.
    np.testing.assert_array_equal(expected.sum(axis=1), np.bincount(y_true, minlength=CLASSES))


def test_confusion_matrix_class_count():
    # Score columns show 5 classes even where the labels only reach 2.
    scores = np.zeros((3, 5))
    scores[[0, 1, 2], [0, 2, 1]] = 1
    np.testing.assert_array_equal(
        metrics.confusion_matrix([0, 1, 2], scores),
        loop_confusion([0, 1, 2], [0, 2, 1], 5),
    )
    assert metrics.confusion_matrix([0, 1, 2], [0, 1, 1]).shape == (3, 3)
    padded = metrics.confusion_matrix([0, 1], [0, 1], num_classes=4)
    np.testing.assert_array_equal(padded, np.diag([1, 1, 0, 0]))
    # Only class 1 occurs: it is still counted in row 1, column 1, not squeezed to (1, 1).
    np.testing.assert_array_equal(metrics.confusion_matrix([1, 1], [1, 1]), [[0, 0], [0, 2]])
    with pytest.raises(ValueError, match="num_classes allows 2 classes, but the inputs show 3"):
        metrics.confusion_matrix([0, 1, 2], [0, 1, 1], num_classes=2)


def test_classification_report_on_the_hand_example():
    report = metrics.classification_report(HAND_TRUE, scores_with_argmax(HAND_PRED, 3))
    assert list(report) == list(HAND_SCORES)
    for key, value in HAND_SCORES.items():
        assert report[key] == pytest.approx(value), key
    assert all(type(report[name]["support"]) is int for name in ("0", "macro avg"))


def test_classification_report_matches_loops(labels_and_logits):
    y_true, logits = labels_and_logits
    predicted = logits.argmax(axis=1)
    names = ["ant", "bee", "cat", "dog"]
    report = metrics.classification_report(y_true, logits, class_names=names)
    # The keys and their order are scikit-learn's output_dict=True layout.
    assert list(report) == [*names, "accuracy", "macro avg", "weighted avg"]
    per_class = [loop_scores(y_true, predicted, cls) for cls in range(CLASSES)]
    for name, expected in zip(names, per_class):
        assert report[name] == pytest.approx(expected), name
    support = np.array([scores["support"] for scores in per_class])
    for key in ("precision", "recall", "f1-score"):
        values = np.array([scores[key] for scores in per_class])
        assert report["macro avg"][key] == pytest.approx(values.mean()), key
        assert report["weighted avg"][key] == pytest.approx(values @ support / support.sum())
    assert report["macro avg"]["support"] == report["weighted avg"]["support"] == len(y_true)
    assert report["accuracy"] == pytest.approx(np.mean(predicted == y_true))


def test_classification_report_zero_division_is_zero():
    # Class 2 never occurs and class 1 is never predicted.
    y_true = [0, 0, 1, 1]
    y_pred = [0, 2, 0, 0]
    report = metrics.classification_report(y_true, y_pred)
    for cls in range(3):
        assert report[str(cls)] == pytest.approx(loop_scores(y_true, y_pred, cls)), cls
    assert report["0"] == pytest.approx(
        {"precision": 1 / 3, "recall": 1 / 2, "f1-score": 2 / 5, "support": 2}
    )
    assert report["1"]["precision"] == 0 and report["2"]["recall"] == 0
    assert report["2"]["f1-score"] == 0
    # The classes with nothing to score still count, as zeros, in the plain mean.
    assert report["macro avg"]["f1-score"] == pytest.approx((2 / 5) / 3)
    assert report["weighted avg"]["f1-score"] == pytest.approx((2 / 5) * 2 / 4)


def test_classification_report_names_classes_the_inputs_do_not_show():
    report = metrics.classification_report([0, 0], [0, 0], class_names=["a", "b", "c"])
    assert list(report)[:3] == ["a", "b", "c"]
    assert report["a"] == pytest.approx(
        {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 2}
    )
    assert report["b"]["support"] == report["c"]["support"] == 0
    assert report["macro avg"]["precision"] == pytest.approx(1 / 3)
    assert report["weighted avg"]["precision"] == pytest.approx(1.0)


def test_classification_report_prints_a_table(labels_and_logits):
    y_true, logits = labels_and_logits
    report = metrics.classification_report(y_true, logits, class_names=["a", "b", "c", "dog"])
    lines = str(report).splitlines()
    assert lines[0].split() == ["precision", "recall", "f1-score", "support"]
    dog = next(line for line in lines if line.split()[:1] == ["dog"])
    scores = [f"{report['dog'][key]:.3f}" for key in ("precision", "recall", "f1-score")]
    assert dog.split()[1:] == [*scores, str(report["dog"]["support"])]
    assert any(line.split()[:2] == ["weighted", "avg"] for line in lines)
    assert f"{report['accuracy']:.3f}" in next(line for line in lines if "accuracy" in line)


def test_hand_example_table_reads_the_hand_numbers():
    lines = str(metrics.classification_report(HAND_TRUE, HAND_PRED)).splitlines()
    row = {line.split()[0]: line.split()[1:] for line in lines[2:5]}
    assert row["1"] == ["0.500", "1.000", "0.667", "2"]
    assert row["2"] == ["1.000", "0.333", "0.500", "3"]
    accuracy = next(line for line in lines if line.split()[:1] == ["accuracy"])
    assert accuracy.split() == ["accuracy", "0.625", "8"]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: metrics.accuracy([0, 1, 1], [0, 1]), ValueError, "same number of examples"),
        (lambda: metrics.accuracy([0, -1], [0, 1]), ValueError, "y_true must hold non-negative"),
        (lambda: metrics.accuracy([0, 1.5], [0, 1]), ValueError, "integer class labels"),
        (lambda: metrics.accuracy([0, 1], [0, np.nan]), ValueError, "y_pred must contain only"),
        (lambda: metrics.accuracy(np.zeros((2, 2, 2)), [0, 1]), ValueError, "y_true must have"),
        (lambda: metrics.accuracy([0, 1], np.zeros((2, 2, 2))), ValueError, "y_pred must have"),
        (lambda: metrics.accuracy([], []), ValueError, "at least one example"),
        (lambda: metrics.accuracy(np.zeros((3, 0)), [0, 1, 1]), ValueError,
         r"y_true must hold a label or scores for each example, got shape \(3, 0\)"),
        (lambda: metrics.confusion_matrix([0, 1, 1], np.zeros((3, 0))), ValueError,
         r"y_pred must hold a label or scores for each example"),
        (lambda: metrics.classification_report(np.zeros((2, 0), int), [0, 1]), ValueError,
         "y_true must hold a label or scores"),
        (lambda: metrics.accuracy(["a"], [0]), TypeError, "y_true must be an array of numbers"),
        (lambda: metrics.accuracy([0, 1], [0, 1 + 1j]), TypeError,
         "y_pred must hold real numbers, got dtype complex128"),
        (lambda: metrics.accuracy([0, 1], [-0.5, 2.0]), ValueError,
         r"y_pred holds one float per example with values outside \[0, 1\] \(from -0.5 to 2\)"),
        (lambda: metrics.accuracy([0, 1], [0, -1]), ValueError, "y_pred must hold non-negative"),
        (lambda: metrics.accuracy([0, 1, 2], [0.0, 1.0, 2.0]), ValueError,
         "for predicted classes pass integer labels"),
        (lambda: metrics.accuracy([0], [0], from_logits=1), TypeError, "from_logits"),
        (lambda: metrics.confusion_matrix([0], [0], num_classes=0), ValueError, "num_classes"),
        (lambda: metrics.confusion_matrix([0], [0], num_classes=True), TypeError,
         "num_classes must be a positive int, got True"),
        (lambda: metrics.classification_report([0], [0], ["a", "a"]), ValueError, "distinct"),
        (lambda: metrics.classification_report([0], [0], []), ValueError, "non-empty"),
        (lambda: metrics.classification_report([0], [0], "ab"), TypeError, "class_names"),
        (lambda: metrics.classification_report([0], [0], ["a", 1]), TypeError,
         "class_names must be a sequence of strings"),
        (lambda: metrics.classification_report([0, 1], [0, 1], ["accuracy", "b"]), ValueError,
         r"must not use the report's own keys, got \['accuracy'\]"),
        (lambda: metrics.classification_report([0, 2], [0, 1], ["a", "b"]), ValueError,
         "class_names allows 2 classes"),
    ],
)  # fmt: skip
def test_bad_inputs_are_rejected(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_paired_difference_by_hand() -> None:
    a = [1, 1, 0, 1, 0]
    b = [1, 0, 0, 0, 1]
    result = metrics.paired_difference(a, b)
    # Differences 0, 1, 0, 1, -1: mean 0.2; squared deviations 0.04, 0.64, 0.04, 0.64, 1.44
    # sum to 2.8, so the sample variance is 2.8 / 4 = 0.7.
    assert result.mean == pytest.approx(0.2)
    assert result.standard_error == pytest.approx(np.sqrt(0.7 / 5))
    assert result.n == 5
    same = metrics.paired_difference([True, False, True], [True, False, True])
    assert same.mean == 0 and same.standard_error == 0


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        ([1, 0], [1, 0, 1], "correct_a and correct_b must have the same number"),
        ([1, 2], [1, 0], "correct_a must hold only 0/1"),
        ([1, 0], [0.5, 1], "correct_b must hold only 0/1"),
        ([1], [0], "correct_a must hold at least 2 examples"),
        ([[1, 0]], [[1, 0]], "correct_a must have rank 1"),
    ],
)
def test_paired_difference_errors(a: list, b: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        metrics.paired_difference(a, b)
