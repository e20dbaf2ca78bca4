# ruff: noqa: B007 - written as course programs are
# Linear regression y = 3x + 2 with a step learning-rate schedule.
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

rng = np.random.default_rng(3)
x_np = rng.uniform(-1, 1, (64, 1)).astype(np.float32)
y_np = (3 * x_np + 2 + rng.normal(0, 0.1, (64, 1))).astype(np.float32)
x_train = torch.Tensor(x_np)
y_train = torch.Tensor(y_np)

torch.manual_seed(0)
model = nn.Linear(1, 1)
criterion = nn.MSELoss()
optimizer = optim.SGD(model.parameters(), lr=0.2)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=20, gamma=0.5)

losses, lrs = [], []
for epoch in range(60):
    lrs.append(optimizer.param_groups[0]["lr"])
    pred = model(x_train)
    loss = criterion(pred, y_train)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    losses.append(loss.item())

last_lr = scheduler.get_last_lr()[0]
with torch.set_grad_enabled(False):
    test_pred = model(torch.Tensor([[0.5], [-0.5]]))
grad_off = test_pred.requires_grad
weight = model.weight.item()
bias = model.bias.item()
test_pred = test_pred.detach().numpy()
