"""Classification metrics: hand-computed cases, scikit-learn agreement, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.metrics import accuracy, confusion_matrix, f1_score, precision, recall
from tests.helpers import examples

# y_true / y_pred of a small binary problem: tp = 3, fp = 1, fn = 2, tn = 4.
BT = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
BP = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]

# A 3-class problem, worked by hand below.
MT = [0, 0, 0, 1, 1, 2, 2, 2, 2, 1]
MP = [0, 1, 0, 1, 2, 2, 2, 0, 2, 1]
# confusion (rows true, cols pred): [[2,1,0],[0,2,1],[1,0,3]]
# precision per class: 2/3, 2/3, 3/4; recall: 2/3, 2/3, 3/4; support 3, 3, 4


def test_binary_by_hand():
    assert accuracy(BT, BP) == pytest.approx(0.7)
    assert accuracy(BT, BP, normalize=False) == 7
    assert precision(BT, BP) == pytest.approx(3 / 4)
    assert recall(BT, BP) == pytest.approx(3 / 5)
    assert f1_score(BT, BP) == pytest.approx(2 * 3 / (2 * 3 + 1 + 2))
    np.testing.assert_array_equal(confusion_matrix(BT, BP), [[4, 1], [2, 3]])
    # pos_label=0 makes class 0 the positive one
    assert precision(BT, BP, pos_label=0) == pytest.approx(4 / 6)
    assert recall(BT, BP, pos_label=0) == pytest.approx(4 / 5)


def test_multiclass_by_hand():
    cm = confusion_matrix(MT, MP)
    np.testing.assert_array_equal(cm, [[2, 1, 0], [0, 2, 1], [1, 0, 3]])
    assert cm.dtype == np.int64
    p = precision(MT, MP, average=None)
    np.testing.assert_allclose(p, [2 / 3, 2 / 3, 3 / 4])
    assert precision(MT, MP, average="macro") == pytest.approx(
        (2 / 3 + 2 / 3 + 3 / 4) / 3
    )
    assert precision(MT, MP, average="micro") == pytest.approx(0.7)
    assert recall(MT, MP, average="weighted") == pytest.approx(
        (3 * 2 / 3 + 3 * 2 / 3 + 4 * 3 / 4) / 10
    )
    assert f1_score(MT, MP, average="micro") == pytest.approx(0.7)
    np.testing.assert_allclose(f1_score(MT, MP, average=None), [2 / 3, 2 / 3, 3 / 4])


def test_inputs_can_be_tensors_arrays_lists_and_columns():
    t = mg.tensor(np.array(BT, dtype=np.float32).reshape(-1, 1))
    p = np.array(BP, dtype=np.int64)
    assert accuracy(t, p) == pytest.approx(0.7)
    assert precision(t, mg.tensor(BP)) == pytest.approx(0.75)
    assert accuracy([True, False], [True, True]) == 0.5
    assert accuracy(["cat", "dog"], ["cat", "cat"]) == 0.5


def test_confusion_matrix_labels_and_normalize():
    cm = confusion_matrix(MT, MP, labels=[2, 0])
    np.testing.assert_array_equal(cm, [[3, 1], [0, 2]])
    n = confusion_matrix(MT, MP, normalize="true")
    np.testing.assert_allclose(n.sum(axis=1), 1.0)
    np.testing.assert_allclose(confusion_matrix(MT, MP, normalize="all").sum(), 1.0)
    np.testing.assert_allclose(
        confusion_matrix(MT, MP, normalize="pred").sum(axis=0), 1.0
    )
    # a class that never occurs gives an all-zero row, not NaN
    z = confusion_matrix([0, 0], [0, 0], labels=[0, 1], normalize="true")
    np.testing.assert_array_equal(z, [[1.0, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="normalize must be"):
        confusion_matrix(MT, MP, normalize="rows")
    with pytest.raises(ValueError, match="repeated values"):
        confusion_matrix(MT, MP, labels=[0, 0])


def test_zero_division():
    # class 1 never predicted: precision is undefined
    assert precision([1, 0], [0, 0]) == 0.0
    assert precision([1, 0], [0, 0], zero_division=1.0) == 1.0
    assert recall([0, 0], [1, 0]) == 0.0


def test_labels_restrict_the_average():
    assert recall(MT, MP, average="macro", labels=[0, 2]) == pytest.approx(
        (2 / 3 + 3 / 4) / 2
    )


def test_errors():
    with pytest.raises(ValueError, match="different lengths: 3 and 2"):
        accuracy([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="no samples"):
        accuracy([], [])
    with pytest.raises(ValueError, match="probabilities or scores"):
        accuracy([0, 1], [0.2, 0.9])
    with pytest.raises(ValueError, match=r"1-D class labels.*\(2, 3\)"):
        accuracy(np.zeros((2, 3)), [0, 1])
    with pytest.raises(ValueError, match="3 classes but average='binary'"):
        precision(MT, MP)
    with pytest.raises(ValueError, match="average must be one of"):
        recall(BT, BP, average="samples")
    with pytest.raises(ValueError, match="pos_label=2 is not one of"):
        f1_score(BT, BP, pos_label=2)
    with pytest.raises(TypeError, match="must hold class labels"):
        accuracy(np.array([1 + 1j]), np.array([1 + 1j]))


@pytest.mark.filterwarnings("ignore::UserWarning")
@examples(60)
@given(st.data())
def test_agrees_with_sklearn(data):
    skm = pytest.importorskip("sklearn.metrics")
    hi = data.draw(st.sampled_from([1, 3]))  # binary and multiclass problems
    t = data.draw(st.lists(st.integers(0, hi), min_size=1, max_size=40))
    p = data.draw(st.lists(st.integers(0, hi), min_size=len(t), max_size=len(t)))
    assert accuracy(t, p) == pytest.approx(skm.accuracy_score(t, p))
    np.testing.assert_array_equal(confusion_matrix(t, p), skm.confusion_matrix(t, p))
    for ours, theirs in (
        (precision, skm.precision_score),
        (recall, skm.recall_score),
        (f1_score, skm.f1_score),
    ):
        for avg in ("micro", "macro", "weighted", None):
            np.testing.assert_allclose(
                ours(t, p, average=avg), theirs(t, p, average=avg, zero_division=0)
            )
        if set(t) | set(p) <= {0, 1}:
            assert ours(t, p) == pytest.approx(theirs(t, p, zero_division=0))
