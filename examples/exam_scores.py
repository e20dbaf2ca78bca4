"""One sigmoid neuron predicts whether a student passes from two exam scores.

    python examples/exam_scores.py [--plot exam.png]

This is logistic regression, the classic first exercise: the data are
synthetic (see ``minigrad.data.datasets.exam_scores`` for how they are made:
students pass with a probability that rises around exam1 + exam2 = 130), and
the scores are standardized before training so that plain gradient descent
converges quickly. With --plot (needs matplotlib) the boundary is saved as PNG.
"""

import argparse

import minigrad as mg
from minigrad import metrics, nn, optim
from minigrad.data import DataLoader, TensorDataset, datasets
from minigrad.train import fit, predict_labels

parser = argparse.ArgumentParser()
parser.add_argument("--plot", metavar="PNG", help="save the decision boundary here")
args = parser.parse_args()

mg.manual_seed(0)
scores, passed = datasets.exam_scores(n_samples=100).tensors
mean, std = scores.numpy().mean(axis=0), scores.numpy().std(axis=0)
x = (scores - mg.tensor(mean)) / mg.tensor(std)

neuron = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
opt = optim.SGD(neuron.parameters(), lr=0.5)
loader = DataLoader(TensorDataset(x, passed), batch_size=100)
history = fit(neuron, nn.BCELoss(), opt, loader, epochs=1000, metrics=["accuracy"])

with mg.no_grad():
    pred = predict_labels(neuron(x))
print(f"training loss {history['loss'][-1]:.4f}")
print(f"accuracy  {metrics.accuracy(passed, pred):.1%}")
print(f"precision {metrics.precision(passed, pred):.1%}")
print(f"recall    {metrics.recall(passed, pred):.1%}")
print("confusion matrix (rows: true fail/pass, columns: predicted fail/pass)")
print(metrics.confusion_matrix(passed, pred))

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
