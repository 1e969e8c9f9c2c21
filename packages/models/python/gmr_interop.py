#!/usr/bin/env python3
"""Weights between GMR.js and the official PyTorch GMR-Conv modules.

Needs torch, numpy and scipy (Debian: apt-get install python3-torch python3-numpy python3-scipy) and the official
modules on the path: GMR_PYTORCH_SRC=<folder holding GMR_Conv/> (or --src).

  gmr_interop.py to-safetensors CKPT.pt OUT.safetensors   a .pt state dict or checkpoint ({'state_dict': ...},
                                                          {'model': ...}, DDP 'module.' keys) as safetensors
  gmr_interop.py to-pt IN.safetensors OUT.pt              a safetensors state dict as torch.save(state_dict)
  gmr_interop.py run-job JOB.json                         the test driver: build / load / forward official models
                                                          (see run_job), prints one JSON result per task

The safetensors reader and writer below are this project's own few lines (the format is an 8-byte little-endian
header length, a JSON header, then the raw little-endian tensors), so nothing beyond torch/numpy is needed.
"""
import json
import os
import struct
import sys

import numpy as np

ST_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
ST_NAMES = {np.dtype(v): k for k, v in ST_DTYPES.items()}


def read_safetensors(path):
    """name -> numpy array (F32, F64, I64)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = ST_DTYPES[info["dtype"]]
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[base + a : base + b], dtype=np.dtype(dt).newbyteorder("<")).astype(dt).reshape(info["shape"])
    return out


def write_safetensors(path, tensors, metadata=None):
    """Writes name -> array or torch tensor (float32 / float64 / int64) as safetensors, keys in order."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        arr = t.detach().cpu().contiguous().numpy() if hasattr(t, "detach") else np.asarray(t)
        if arr.dtype not in ST_NAMES:
            raise ValueError(f"{path}: tensor {name!r} has dtype {arr.dtype}; safetensors here takes float32, float64, int64")
        blob = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": ST_NAMES[arr.dtype], "shape": list(arr.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    hb = json.dumps(header).encode("utf-8")
    hb += b" " * ((8 - (8 + len(hb)) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


def unwrap_state_dict(obj):
    """A model's state dict out of what users torch.save: the dict itself, {'state_dict': ...} or {'model': ...};
    'module.' (DDP) and '_orig_mod.' (torch.compile) prefixes removed; non-tensor entries dropped."""
    import torch

    for wrapper in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(wrapper), dict):
            obj = obj[wrapper]
    if hasattr(obj, "state_dict") and not isinstance(obj, dict):
        obj = obj.state_dict()
    sd = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    for prefix in ("module.", "_orig_mod."):
        if sd and all(k.startswith(prefix) for k in sd):
            sd = {k[len(prefix) :]: v for k, v in sd.items()}
    return sd


def official(src=None):
    """The official GMR_Conv package (from --src or $GMR_PYTORCH_SRC)."""
    src = src or os.environ.get("GMR_PYTORCH_SRC")
    if src and src not in sys.path:
        sys.path.insert(0, src)
    import GMR_Conv  # noqa: F401
    from GMR_Conv import gmr_conv, gmr_resnet

    return gmr_conv, gmr_resnet


# ---------------------------------------------------------------------------------------------------------------
# Models: the official ones, and the PyTorch forms of the two GMR.js models the official code has no builder for.


def plain_resnet18(num_classes=1000, in_channels=3, inplanes=64, stem_kernel=5, stem_stride=1, max_pool=True):
    """The plain ResNet-18 twin of GMR.js's resNet18 (torchvision's module names and layout; stem k×k)."""
    import torch.nn as nn

    class Block(nn.Module):
        def __init__(self, cin, planes, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or cin != planes:
                self.downsample = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(in_channels, inplanes, stem_kernel, stem_stride, stem_kernel // 2, bias=False)
            self.bn1 = nn.BatchNorm2d(inplanes)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1) if max_pool else nn.Identity()
            cin = inplanes
            for stage in range(4):
                planes = inplanes * 2**stage
                stride = 1 if stage == 0 else 2
                setattr(self, f"layer{stage + 1}", nn.Sequential(Block(cin, planes, stride), Block(planes, planes, 1)))
                cin = planes
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(8 * inplanes, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(self.avgpool(x).flatten(1))

    return Net()


def sequential_cnn(gmr=True, num_classes=10, in_channels=1, widths=(16, 32, 64), kernel_sizes=(9, 9, 5), src=None):
    """GMR.js's GMR-CNN (gmr=True, official GMR_Conv2d) or plain CNN as the documented nn.Sequential:
    0 conv, 1 BN, 2 ReLU, 3 AvgPool2d(2), 4 conv, 5 BN, 6 ReLU, 7 AvgPool2d(2), 8 conv, 9 BN, 10 ReLU,
    11 AdaptiveAvgPool2d(1), 12 Flatten, 13 Linear."""
    import torch.nn as nn

    def conv(cin, cout, k):
        if gmr:
            return official(src)[0].GMR_Conv2d(cin, cout, k, padding=k // 2, bias=False)
        # even k: GMR.js pads k//2 on both sides, as PyTorch does
        return nn.Conv2d(cin, cout, k, padding=k // 2, bias=False)

    layers, cin = [], in_channels
    for i, (w, k) in enumerate(zip(widths, kernel_sizes)):
        layers += [conv(cin, w, k), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
        layers.append(nn.AvgPool2d(2) if i < 2 else nn.AdaptiveAvgPool2d(1))
        cin = w
    layers += [nn.Flatten(1), nn.Linear(cin, num_classes)]
    return nn.Sequential(*layers)


def build(spec, src=None):
    """An official (or PyTorch-form) model from a JSON spec: {"arch": ..., keyword arguments...}."""
    import torch.nn as nn

    gmr_conv, gmr_resnet = official(src)
    spec = dict(spec)
    arch = spec.pop("arch")
    if arch in ("gmr_resnet18", "gmr_resnet34", "gmr_resnet50"):
        return getattr(gmr_resnet, arch)(**spec)
    if arch == "resnet18_plain":
        return plain_resnet18(**spec)
    if arch in ("gmr_cnn", "plain_cnn"):
        return sequential_cnn(gmr=arch == "gmr_cnn", src=src, **spec)
    if arch in ("GMR_Conv1d", "GMR_Conv2d", "GMR_Conv3d", "GMR_ConvTranspose2d"):
        # one layer under the module name "conv", so its keys read conv.weight, conv.mus, ...
        holder = nn.Module()
        holder.conv = getattr(gmr_conv, arch)(**spec)
        holder.forward = lambda x: holder.conv(x)
        return holder
    raise ValueError(f"unknown arch {arch!r}")


def warm_up(model, shape, passes, seed):
    """A few training-mode forwards on random inputs, so BatchNorm's running statistics are not the init ones."""
    import torch

    g = torch.Generator().manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(passes):
            model(torch.randn(*shape, generator=g))


def run_job(job):
    """Tasks, each {"op": ...}:
    make: {spec, seed, input, weights_out, logits_out[, warm_up]} build with the seed, warm BN up, perturb every
          log_sigmas (so σ crosses over too), save state_dict() and the eval logits on `input` (key "x", NCHW).
    load: {spec, weights, input, logits_out[, weights_out]} strict load_state_dict of a safetensors file (wrappers
          and prefixes as unwrap_state_dict), eval logits; weights_out re-saves model.state_dict().
    Returns one result per task: {ok, error?, keys?}."""
    import torch

    torch.set_num_threads(1)
    results = []
    for task in job["tasks"]:
        try:
            torch.manual_seed(task.get("seed", 0))
            model = build(task["spec"], job.get("src"))
            x = torch.from_numpy(read_safetensors(task["input"])["x"].astype(np.float32))
            if task["op"] == "make":
                warm_up(model, tuple(x.shape), task.get("warm_up", 3), task.get("seed", 0))
                with torch.no_grad():
                    for name, p in model.named_parameters():
                        if name.endswith("log_sigmas"):
                            p.add_(0.05 * torch.randn(p.shape))
            else:
                sd = {k: torch.from_numpy(np.array(v)) for k, v in read_safetensors(task["weights"]).items()}
                model.load_state_dict(unwrap_state_dict(sd))  # strict, as users load
            model.eval()  # after loading: the official 3D layer caches its kernel here
            with torch.no_grad():
                logits = model(x)
            write_safetensors(task["logits_out"], {"logits": logits})
            if task.get("weights_out"):
                write_safetensors(task["weights_out"], model.state_dict())
            results.append({"ok": True, "keys": len(model.state_dict())})
        except Exception as e:  # reported per task, so one failure does not hide the others
            results.append({"ok": False, "error": f"{type(e).__name__}: {e}"})
    return results


def main(argv):
    if len(argv) >= 1 and argv[0] == "run-job":
        with open(argv[1]) as f:
            job = json.load(f)
        print(json.dumps(run_job(job)))
        return 0
    if len(argv) == 3 and argv[0] == "to-safetensors":
        import torch

        sd = unwrap_state_dict(torch.load(argv[1], map_location="cpu"))
        write_safetensors(argv[2], sd, {"format": "pt"})
        print(f"{len(sd)} tensors -> {argv[2]}")
        return 0
    if len(argv) == 3 and argv[0] == "to-pt":
        import torch

        sd = {k: torch.from_numpy(np.array(v)) for k, v in read_safetensors(argv[1]).items()}
        torch.save(sd, argv[2])
        print(f"{len(sd)} tensors -> {argv[2]}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
