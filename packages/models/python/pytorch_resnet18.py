"""The official GMR-ResNet-18 ([9, 9, 5, 5], 10 classes) timed as `pnpm bench resnet18` times ours: batch 32 of
32x32x3, a training step with SGD momentum 0.9 and an inference batch in eval mode, median of `runs` after 2 warm-up.
Run beside `pnpm bench resnet18 --backend native`, on the same machine at the same load:
  GMR_PYTORCH_SRC=../shared/reference/pytorch /usr/bin/python3 packages/models/python/pytorch_resnet18.py [runs=15] [threads=2]
(Debian's python3-torch; OMP_WAIT_POLICY=PASSIVE when other jobs share the cores)
"""
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.environ.get('GMR_PYTORCH_SRC', '../shared/reference/pytorch'))
from GMR_Conv.gmr_resnet import gmr_resnet18  # noqa: E402

runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
torch.set_num_threads(threads)
torch.manual_seed(1)
model = gmr_resnet18(num_classes=10, gmr_conv_size=[9, 9, 5, 5])
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x = torch.randn(32, 3, 32, 32)
y = torch.randint(0, 10, (32,))
loss_fn = torch.nn.CrossEntropyLoss()


def step():
    opt.zero_grad()
    loss_fn(model(x), y).backward()
    opt.step()


def infer():
    with torch.no_grad():
        model(x)


def median_ms(f):
    for _ in range(2):
        f()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append(1000 * (time.perf_counter() - t))
    return statistics.median(times)


# Training steps first, then inference on the fixed weights: eval() once, which builds the official GMR layers'
# inference weights (inference_accelerate), as `pnpm bench resnet18` builds ours in its warm-up.
model.train()
train_ms = median_ms(step)
model.eval()
infer_ms = median_ms(infer)
print(f'PyTorch {torch.__version__} gmr_resnet18 [9,9,5,5] batch 32 32x32, {threads} threads, load {os.getloadavg()[0]:.2f}: '
      f'train step {train_ms:.1f} ms, inference {infer_ms:.1f} ms (median of {runs})')
