#!/usr/bin/python3
"""Generates tests/train/data/torch_parity.safetensors with Debian's python3-torch (1.13, CPU):
a small CNN with BatchNorm, its initial weights, 20 batches, and PyTorch's losses, final parameters
and running statistics after 20 SGD-momentum steps and after 20 Adam steps from those weights.
test_torch_parity.cpp trains the same model in vktrain from the same weights and batches and
compares. Run it again only when the model or the steps change:
    /usr/bin/python3 tests/train/torch_parity.py
"""
import json
import os
import struct

import torch
import torch.nn as nn

STEPS, BATCH = 20, 8


def model():
    # No conv bias before BatchNorm: its gradient is exactly zero in theory and rounding noise in
    # practice, which Adam would normalize into full-size steps of noise, differently per library.
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Dropout(0.0), nn.Flatten(), nn.Linear(4 * 4 * 4, 5))


def train(net, optimizer, inputs, labels):
    losses = []
    net.train()
    for step in range(STEPS):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(net(inputs[step]), labels[step])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return torch.tensor(losses, dtype=torch.float32)


def save(path, tensors):
    """A safetensors file (8-byte header length, JSON header, raw little-endian data)."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dtype = {torch.float32: "F32", torch.int32: "I32", torch.int64: "I64"}[t.dtype]
        data = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    torch.manual_seed(2024)
    initial = model()
    inputs = torch.randn(STEPS, BATCH, 1, 8, 8)
    labels = torch.randint(0, 5, (STEPS, BATCH), dtype=torch.int64)
    out = {f"initial.{k}": v.clone() for k, v in initial.state_dict().items()}
    out["inputs"] = inputs
    out["labels"] = labels.to(torch.int32)
    for name, make in [("sgd", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
                       ("adam", lambda p: torch.optim.Adam(p, lr=0.01))]:
        net = model()
        net.load_state_dict(initial.state_dict())
        out[f"{name}.losses"] = train(net, make(net.parameters()), inputs, labels)
        for k, v in net.state_dict().items():
            out[f"{name}.{k}"] = v.clone()
    here = os.path.dirname(os.path.abspath(__file__))
    save(os.path.join(here, "data", "torch_parity.safetensors"), out)


if __name__ == "__main__":
    main()
