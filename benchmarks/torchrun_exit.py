"""How often a 2-process `torchrun` run on the CPU aborts as its processes exit, by how training ends.

    .venv/bin/python benchmarks/torchrun_exit.py [--runs 60]

Each run trains a small DDP model a few steps over Gloo, then ends one of two ways, interleaved:
- `gloo`: the weights' digests exchanged with `all_gather_object` and a Gloo barrier (how `train` ended before);
- `store`: `train`'s own ending (`_replica_fingerprints`, `_end_process_group`: through the group's store).
A process that leaves right after a Gloo collective can abort at interpreter shutdown ("terminate called
without an active exception", SIGABRT), which fails the whole `torchrun`. Prints the aborted runs of each.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys


def worker(ending: str) -> None:
    import torch
    import torch.distributed as dist

    from molmo_agent.sft.train import _end_process_group, _replica_fingerprints

    dist.init_process_group("gloo")
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(64, 64))
    for _ in range(3):
        model(torch.randn(4, 64)).sum().backward()
    if ending == "gloo":
        everyone: list = [None] * dist.get_world_size()
        dist.all_gather_object(everyone, str(dist.get_rank()))
        dist.barrier()
        dist.destroy_process_group()
    else:
        _replica_fingerprints(model)
        _end_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60, help="runs of each ending")
    args = parser.parse_args()
    aborted = {"gloo": 0, "store": 0}
    for run in range(args.runs):
        for ending in aborted:
            done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
                                   "2", __file__, "--worker", ending], capture_output=True, text=True, timeout=120,
                                  env={**os.environ, "OMP_NUM_THREADS": "1"})
            if done.returncode != 0:
                aborted[ending] += 1
                why = "SIGABRT" if "Signal 6" in done.stderr or "exitcode: -6" in done.stderr else "other"
                print(f"run {run + 1} ({ending}): failed, {why}", flush=True)
    for ending, count in aborted.items():
        print(f"{ending}: {count} of {args.runs} runs aborted")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2])
    else:
        main()
