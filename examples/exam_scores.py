"""One sigmoid neuron predicts whether a student passes from two exam scores.

    python examples/exam_scores.py [--plot exam.png]

This is logistic regression, the classic first exercise: the data are
synthetic (see ``minigrad.data.datasets.exam_scores`` for how they are made:
students pass with a probability that rises around exam1 + exam2 = 130).
A quarter of the students are held out: the accuracy that counts is the one
on them (test accuracy), not on the students the neuron was fitted to. The
scores are standardized with the training students' mean and spread (the test
students are not looked at) so that plain gradient descent converges quickly.
With the default seed: 90% test accuracy (the best boundary, exam1 + exam2 =
130, scores about as well: labels near it are noisy by construction).
With --plot (needs matplotlib) the boundary is saved as PNG.
"""

import argparse

import minigrad as mg
from minigrad import metrics, nn, optim
from minigrad.data import DataLoader, TensorDataset, datasets, random_split
from minigrad.train import fit, predict_labels

parser = argparse.ArgumentParser()
parser.add_argument("--plot", metavar="PNG", help="save the decision boundary here")
args = parser.parse_args()

mg.manual_seed(0)
students = datasets.exam_scores(n_samples=200)
train, test = random_split(students, [0.75, 0.25])
scores, passed = next(iter(DataLoader(train, batch_size=len(train))))
test_scores, test_passed = next(iter(DataLoader(test, batch_size=len(test))))
mean, std = scores.numpy().mean(axis=0), scores.numpy().std(axis=0)
x = (scores - mg.tensor(mean)) / mg.tensor(std)
x_test = (test_scores - mg.tensor(mean)) / mg.tensor(std)
print(f"{len(train)} students to train, {len(test)} to test")

neuron = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
opt = optim.SGD(neuron.parameters(), lr=0.5)
loader = DataLoader(TensorDataset(x, passed), batch_size=len(train))
history = fit(
    neuron, nn.BCELoss(), opt, loader, epochs=1000, metrics=["accuracy"], verbose=False
)

with mg.no_grad():
    pred = predict_labels(neuron(x_test))
print(f"training loss {history['loss'][-1]:.4f}, ", end="")
print(f"training accuracy {history['accuracy'][-1]:.1%}")
print(f"test accuracy  {metrics.accuracy(test_passed, pred):.1%}")
print(f"test precision {metrics.precision(test_passed, pred):.1%}")
print(f"test recall    {metrics.recall(test_passed, pred):.1%}")
print("test confusion matrix (rows: true fail/pass, columns: predicted fail/pass)")
print(metrics.confusion_matrix(test_passed, pred))

# The boundary w . (s - mean) / std + b = 0, written in raw scores.
w = neuron[0].weight.numpy().ravel() / std
b = neuron[0].bias.item() - float(w @ mean)
print(f"pass when {w[0]:.3f} * exam1 + {w[1]:.3f} * exam2 > {-b:.2f}")

if args.plot:
    from minigrad.plot import plot_decision_boundary

    plot_decision_boundary(
        neuron, x, passed, args.plot, title="pass/fail (standardized)"
    )
    print(f"decision boundary saved to {args.plot}")
