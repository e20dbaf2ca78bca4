"""A network with one hidden layer learns XOR (which one neuron cannot).

    python examples/xor_mlp.py [--plot xor.png]

2 inputs -> 4 tanh units -> 1 sigmoid output, binary cross-entropy, Adam.
With --plot (needs matplotlib) the learned decision regions are saved as PNG.
"""

import argparse

import minigrad as mg
from minigrad import nn, optim
from minigrad.data import DataLoader, datasets
from minigrad.train import fit

parser = argparse.ArgumentParser()
parser.add_argument("--plot", metavar="PNG", help="save the decision boundary here")
args = parser.parse_args()

mg.manual_seed(0)
ds = datasets.logic_gate("XOR")
x, y = ds.tensors
model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())
opt = optim.Adam(model.parameters(), lr=0.05)
history = fit(model, nn.BCELoss(), opt, DataLoader(ds, batch_size=4), epochs=1000)

with mg.no_grad():
    out = model(x)
print(f"loss {history['loss'][0]:.4f} -> {history['loss'][-1]:.4f}")
for inputs, p in zip(x.tolist(), out.numpy().ravel()):
    print(f"XOR{tuple(int(v) for v in inputs)} = {p:.3f} -> {int(p > 0.5)}")

if args.plot:
    from minigrad.plot import plot_decision_boundary

    plot_decision_boundary(model, x, y, args.plot, title="XOR, 2-4-1 network")
    print(f"decision boundary saved to {args.plot}")
