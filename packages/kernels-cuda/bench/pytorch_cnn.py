"""The CLI's GMR-CNN and plain CNN (packages/models/src/cnn.ts) in PyTorch, timed as `gmr bench` times ours:
median ms of a training step (forward, cross-entropy, backward, Adam) and, after the training steps, of an inference
batch on the fixed weights (eval, no grad),
batch of 28x28x1 digits. The GMR convs are the official GMR_Conv2d (found through GMR_PYTORCH_SRC, the folder that
holds GMR_Conv/). Prints one JSON line per model.

  GMR_PYTORCH_SRC=<shared>/reference/pytorch /usr/bin/python3 bench/pytorch_cnn.py --model gmr-cnn --widths 24,48,96
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn


def build(kind, widths, kernel_sizes=(9, 9, 5), num_classes=10):
    if kind == "gmr-cnn":
        sys.path.insert(0, os.environ.get("GMR_PYTORCH_SRC", ""))
        from GMR_Conv import GMR_Conv2d

        def conv(cin, cout, k):
            return GMR_Conv2d(cin, cout, k, padding=k // 2, bias=False)
    else:

        def conv(cin, cout, k):
            return nn.Conv2d(cin, cout, k, padding=k // 2, bias=False)

    layers, cin = [], 1
    for i, (w, k) in enumerate(zip(widths, kernel_sizes)):
        layers += [conv(cin, w, k), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
        if i < 2:
            layers.append(nn.AvgPool2d(2))
        cin = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes)]
    return nn.Sequential(*layers)


def median(v):
    return sorted(v)[len(v) // 2]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="plain-cnn", choices=["gmr-cnn", "plain-cnn"])
    p.add_argument("--widths", default="16,32,64")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    widths = [int(w) for w in a.widths.split(",")]
    model = build(a.model, widths)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(a.batch_size, 1, 28, 28)
    y = torch.arange(a.batch_size) % 10
    loss_fn = nn.CrossEntropyLoss()
    train, infer, train_cpu, infer_cpu = [], [], [], []
    # training steps first, then inference batches on the fixed weights (as `gmr bench` times ours)
    model.train()
    for i in range(a.warmup + a.runs):
        c0 = time.process_time()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
        t1 = time.perf_counter()
        c1 = time.process_time()
        if i >= a.warmup:
            train.append((t1 - t0) * 1000)
            train_cpu.append((c1 - c0) * 1000)
    model.eval()
    for i in range(a.warmup + a.runs):
        c0 = time.process_time()
        t0 = time.perf_counter()
        with torch.no_grad():
            model(x).sum().item()
        t1 = time.perf_counter()
        c1 = time.process_time()
        if i >= a.warmup:
            infer.append((t1 - t0) * 1000)
            infer_cpu.append((c1 - c0) * 1000)
    print(json.dumps({"model": a.model, "widths": widths, "batch": a.batch_size, "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "trainStepMs": median(train), "inferenceMs": median(infer),
                      "trainStepCpuMs": median(train_cpu), "inferenceCpuMs": median(infer_cpu)}))


if __name__ == "__main__":
    main()
