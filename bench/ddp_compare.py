#!/usr/bin/python3
"""DDP training step of the digits MLP (64 -> 128 -> 10, Adam, cross-entropy, global batch 32,
one compute thread per rank) on 2 ranks: wick (bench/bench_ddp.cpp under mpirun) against torch
DDP over Gloo (Debian python3-torch), in one run; prints both medians and the ratio.

    python3 bench/ddp_compare.py --bench build/bench/wick_bench_ddp [--ranks 2] [--steps 300]

torch: each rank takes 16 of the 32 samples (DistributedDataParallel averages the gradients);
wick: 4 micro-batches of 8, 2 per rank, summed in its fixed tree (bit-identical on 1, 2, 4 ranks).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

BATCH = 32


def torch_worker(rank, ranks, steps, reps, port, out):
    import torch
    import torch.distributed as dist
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=ranks)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.Adam(ddp.parameters(), lr=1e-3)
    per = BATCH // ranks
    x = torch.rand(BATCH, 64)[rank * per:(rank + 1) * per]
    y = torch.randint(0, 10, (BATCH,))[rank * per:(rank + 1) * per]
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(ddp(x), y)
        loss.backward()
        opt.step()

    for _ in range(30):
        step()
    samples = []
    for _ in range(reps):
        dist.barrier()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        samples.append((time.perf_counter() - start) / steps)
    if rank == 0:
        out.put(samples)
    dist.destroy_process_group()


def torch_step(ranks, steps, reps):
    import torch.multiprocessing as mp
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    port = 29500 + os.getpid() % 1000
    procs = [ctx.Process(target=torch_worker, args=(r, ranks, steps, reps, port, out)) for r in range(ranks)]
    for p in procs:
        p.start()
    samples = out.get(timeout=600)
    for p in procs:
        p.join()
        if p.exitcode != 0:
            sys.exit(f"ddp_compare: a torch rank exited with {p.exitcode}")
    return statistics.median(samples)


def wick_step(bench, ranks):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_btl_vader_single_copy_mechanism="none")
    out = subprocess.run(["mpirun", "--oversubscribe", "-n", str(ranks), bench,
                          "--benchmark_filter=BM_DdpStep", "--benchmark_format=json"],
                         check=True, capture_output=True, text=True, env=env).stdout
    runs = json.loads(out)["benchmarks"]
    median = [r for r in runs if r.get("aggregate_name") == "median"]
    return median[0]["real_time"] * 1e-6  # microseconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    import torch
    print(f"load: {os.getloadavg()[0]:.2f}  torch {torch.__version__}  ranks {args.ranks}")
    w = wick_step(args.bench, args.ranks)
    t = torch_step(args.ranks, args.steps, args.reps)
    print(f"| DDP step, digits MLP, global batch {BATCH}, {args.ranks} ranks | wick {w * 1e6:.1f} us | "
          f"torch DDP (Gloo) {t * 1e6:.1f} us | wick faster by {t / w:.2f}x |")


if __name__ == "__main__":
    main()
