#!/usr/bin/env python3
"""Train the official GMR-ResNet on N processes with torch.distributed (DistributedDataParallel), save what GMR.js
imports. gloo on CPUs; nccl on GPUs is the same script (--backend nccl, one process per GPU).

  # one machine, 2 CPU processes (spawned here)
  GMR_PYTORCH_SRC=../shared/reference/pytorch python3 train_ddp.py --nproc 2 --steps 100 --out run/
  # a cluster: torchrun starts the processes (this script sees RANK / WORLD_SIZE / LOCAL_RANK and joins)
  torchrun --nnodes 2 --nproc-per-node 8 --rdzv-endpoint HOST:29500 train_ddp.py --backend nccl --out run/
  # continue a GMR.js model: gmr export --format safetensors, then
  python3 train_ddp.py --init model.safetensors --out run/

Writes, from rank 0, into --out:
  weights.safetensors   the DDP model's state_dict() as saved (keys 'module.'-prefixed; GMR.js strips that)
  checkpoint.pt         {'model': state_dict, 'optimizer': ..., 'step': n}, the usual PyTorch checkpoint
  probe.safetensors     a fixed input x (NCHW) with the logits before (logits_init) and after training (logits)
  summary.json          world size, backend, losses, whether every rank ended with the same parameters

The data are synthetic (seeded Gaussian images, labels from their quadrant means) unless you replace
`synthetic_data` with your dataset: the point here is the distributed recipe and the weights that leave it.
"""
import argparse
import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gmr_interop  # noqa: E402

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
from torch.nn.parallel import DistributedDataParallel as DDP  # noqa: E402
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset  # noqa: E402


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="folder for weights.safetensors, checkpoint.pt, probe.safetensors, summary.json")
    p.add_argument("--nproc", type=int, default=2, help="processes to spawn when not started by torchrun (default 2)")
    p.add_argument("--backend", default="gloo", choices=["gloo", "nccl"], help="gloo (CPU) or nccl (one GPU per process)")
    p.add_argument("--arch", default="gmr_resnet18", choices=["gmr_resnet18", "gmr_resnet34", "gmr_resnet50"])
    p.add_argument("--spec", default='{"gmr_conv_size": [5, 5, 3, 3], "num_classes": 7, "inplanes": 4}', help="JSON keyword arguments of the official builder")
    p.add_argument("--init", help="start from this state dict (safetensors; e.g. exported by GMR.js)")
    p.add_argument("--steps", type=int, default=3, help="optimizer steps (default 3)")
    p.add_argument("--batch", type=int, default=4, help="batch per process (default 4)")
    p.add_argument("--size", type=int, default=32, help="image size (default 32)")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--src", help="the official modules' folder (default $GMR_PYTORCH_SRC)")
    return p.parse_args(argv)


def synthetic_data(n, channels, size, classes, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, channels, size, size, generator=g)
    h = size // 2
    quadrants = torch.stack([x[:, :, :h, :h].mean((1, 2, 3)), x[:, :, :h, h:].mean((1, 2, 3)), x[:, :, h:, :h].mean((1, 2, 3)), x[:, :, h:, h:].mean((1, 2, 3))], 1)
    return TensorDataset(x, quadrants.argmax(1) % classes)


def worker(local_rank, args, world_size, spawned):
    if spawned:
        os.environ["RANK"] = str(local_rank)
        os.environ["LOCAL_RANK"] = str(local_rank)
        os.environ["WORLD_SIZE"] = str(world_size)
    torch.set_num_threads(1)
    dist.init_process_group(args.backend, init_method="env://")
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device(f"cuda:{local_rank}") if args.backend == "nccl" else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)

    spec = {"arch": args.arch, **json.loads(args.spec)}
    torch.manual_seed(args.seed)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    model = gmr_interop.build(spec, args.src)
    if args.init:
        sd = {k: torch.from_numpy(v.copy()) for k, v in gmr_interop.read_safetensors(args.init).items()}
        model.load_state_dict(gmr_interop.unwrap_state_dict(sd))  # strict
    model.to(device)
    in_ch = model.conv1.in_channels
    classes = model.fc.out_features
    probe_x = torch.randn(2, in_ch, args.size, args.size, generator=torch.Generator().manual_seed(1234))

    def probe():
        model.eval()  # the module itself, not the DDP wrapper: what gets saved
        with torch.no_grad():
            y = model(probe_x.to(device)).cpu()
        model.train()
        return y

    logits_init = probe()
    ddp = DDP(model, device_ids=[local_rank] if device.type == "cuda" else None)
    data = synthetic_data(args.steps * args.batch * world, in_ch, args.size, classes, args.seed + 1)
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True, seed=args.seed)
    loader = DataLoader(data, batch_size=args.batch, sampler=sampler)
    opt = torch.optim.SGD(ddp.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    losses = []
    for step, (x, y) in zip(range(args.steps), loader):
        loss = torch.nn.functional.cross_entropy(ddp(x.to(device)), y.to(device))
        opt.zero_grad()
        loss.backward()  # DDP all-reduces the gradients here
        opt.step()
        losses.append(loss.item())

    # every rank must hold the same parameters: compare per-tensor sums across ranks
    sums = torch.stack([p.detach().double().sum() for p in model.parameters()]).to(device)
    lo, hi = sums.clone(), sums.clone()
    dist.all_reduce(lo, op=dist.ReduceOp.MIN)
    dist.all_reduce(hi, op=dist.ReduceOp.MAX)
    same = bool((hi - lo).abs().max().item() == 0)

    if rank == 0:
        os.makedirs(args.out, exist_ok=True)
        sd = ddp.state_dict()  # 'module.'-prefixed, exactly what a DDP user saves
        gmr_interop.write_safetensors(os.path.join(args.out, "weights.safetensors"), sd, {"format": "pt", "arch": args.arch, "spec": args.spec})
        torch.save({"model": sd, "optimizer": opt.state_dict(), "step": args.steps}, os.path.join(args.out, "checkpoint.pt"))
        gmr_interop.write_safetensors(os.path.join(args.out, "probe.safetensors"), {"x": probe_x, "logits_init": logits_init, "logits": probe()})
        summary = {"world_size": world, "backend": args.backend, "arch": args.arch, "spec": json.loads(args.spec), "steps": args.steps, "losses_rank0": losses, "same_parameters_on_every_rank": same}
        with open(os.path.join(args.out, "summary.json"), "w") as f:
            json.dump(summary, f, indent=2)
        print(json.dumps(summary))
    dist.barrier()
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv):
    args = parse(argv)
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:  # started by torchrun (or by hand per process)
        worker(int(os.environ.get("LOCAL_RANK", 0)), args, int(os.environ["WORLD_SIZE"]), False)
        return 0
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(free_port()))
    mp.spawn(worker, args=(args, args.nproc, True), nprocs=args.nproc, join=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
