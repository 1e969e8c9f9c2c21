"""PyTorch's side of bench/conv_layers.mjs: the plain CNN's three convolutions (batch 32, 'same' padding) at one
thread, forward (conv2d) and both gradients (torch.nn.grad.conv2d_input / conv2d_weight, what autograd calls), each
the median process CPU time in ms of `runs` calls. Prints one JSON line: a list of {forward, inputGrad, filterGrad}.

  /usr/bin/python3 bench/conv_layers.py [runs=15]
"""
import json
import sys
import time

import torch
import torch.nn.functional as F
from torch.nn.grad import conv2d_input, conv2d_weight

LAYERS = [(1, 16, 9, 28), (16, 32, 9, 14), (32, 64, 5, 7)]
B = 32


def cpu_ms(fn, runs):
    t = []
    for i in range(runs + 2):
        c0 = time.process_time()
        fn()
        if i >= 2:
            t.append((time.process_time() - c0) * 1000)
    return sorted(t)[len(t) // 2]


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    torch.set_num_threads(1)
    out = []
    with torch.no_grad():
        for cin, cout, k, hw in LAYERS:
            p = k // 2
            x = torch.rand(B, cin, hw, hw) - 0.5
            w = torch.rand(cout, cin, k, k) - 0.5
            dy = torch.rand(B, cout, hw, hw) - 0.5
            out.append({
                "forward": cpu_ms(lambda: F.conv2d(x, w, padding=p), runs),
                "inputGrad": cpu_ms(lambda: conv2d_input(x.shape, w, dy, padding=p), runs),
                "filterGrad": cpu_ms(lambda: conv2d_weight(x, w.shape, dy, padding=p), runs),
            })
    print(json.dumps(out))


main()
