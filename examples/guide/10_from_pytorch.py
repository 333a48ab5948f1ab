#!/usr/bin/python3
"""docs/guide.md, section 13 (From PyTorch), the PyTorch side: a model trained in PyTorch,
exported with torch.onnx.export, and its logits on five inputs for the C++ side to compare.
Run before 10_from_pytorch.cpp (the test guide.from_pytorch runs both)."""
import numpy as np
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 64), nn.BatchNorm1d(64), nn.ReLU(),
                      nn.Linear(64, 64), nn.GELU(), nn.Linear(64, 3))
# A few steps of training, so that every parameter and BatchNorm's statistics move.
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for step in range(50):
    x = torch.rand(64, 2) * 2 - 1
    y = (torch.atan2(x[:, 1], x[:, 0]) + torch.pi).div(2 * torch.pi / 3).long().clamp(max=2)
    loss = nn.functional.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

model.eval()
x = torch.rand(5, 2) * 2 - 1
torch.onnx.export(model, x, "from_pytorch.onnx", opset_version=17, input_names=["x"], output_names=["logits"],
                  dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
np.save("from_pytorch_x.npy", x.numpy())
np.save("from_pytorch_logits.npy", model(x).detach().numpy())
print("wrote from_pytorch.onnx, from_pytorch_x.npy and from_pytorch_logits.npy")
