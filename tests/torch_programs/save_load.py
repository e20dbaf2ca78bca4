# ruff: noqa: B007 - written as course programs are
# Train, save the state dict to a .pt file, load it into a fresh model.
import numpy as np
import torch
import torch.nn as nn

x = torch.linspace(-2, 2, 40).unsqueeze(1)
y = x**2

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
for step in range(50):
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()

torch.save(model.state_dict(), "model.pt")
torch.save(x, "inputs.pt")

restored = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1))
restored.load_state_dict(torch.load("model.pt"))
restored.eval()
x_loaded = torch.load("inputs.pt")
with torch.no_grad():
    before = model(x).numpy()
    after = restored(x_loaded).numpy()
same = bool(np.array_equal(before, after))
final_loss = loss.item()

a = np.zeros(3, dtype=np.float32)
t = torch.from_numpy(a)
a[0] = 5.0
shares_memory = t[0].item() == 5.0
