"""GPU kernels of one ingot engine, as CUPTI (torch.profiler) sees them while the engine replays.

    python bench/kernel_trace.py --model efficientnet_b0 --batch 1 [--calls 20] [--top 40] [--json PATH]
                                 [--timed convolution] [--sequence]

ingot.profile times layers one at a time, with events around each, which adds a few
microseconds per layer; this reports the kernels themselves, in the replayed CUDA graph: per
kernel name, the launches per call, the microseconds per call and the mean per launch, sorted
by time. --timed KIND also lists, for each layer of that kind, the tactics the build timed
(ms each) and the one it chose. --sequence lists every kernel of one call in launch order with
its mean time over the calls (the per-layer view of the graph). Environment switches (INGOT_CUDA_*) apply as in bench/run.py.
"""

import argparse
import collections
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--timing-cache", default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--timed", default=None, help="a layer kind: list its timed tactics")
    ap.add_argument("--sequence", action="store_true", help="list one call's kernels in launch order")
    args = ap.parse_args()

    import torch
    from torch.profiler import ProfilerActivity, profile

    import ingot

    sys.path.insert(0, HERE)
    import models

    torch.manual_seed(0)
    model, make_inputs, _ = models.build(args.model)
    model = model.cuda().half()
    inputs = tuple(x.half() if x.is_floating_point() else x for x in make_inputs(args.batch, "cuda", torch.float32))
    compiled = ingot.compile(model, inputs=list(inputs), enabled_precisions={torch.float16}, device="cuda",
                             timing_cache=args.timing_cache)
    with torch.inference_mode():
        for _ in range(10):
            compiled(*inputs)
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(args.calls):
                compiled(*inputs)
            torch.cuda.synchronize()

    kernels = collections.defaultdict(lambda: [0, 0.0])  # name -> [launches, total us]
    launched = []  # (start, name, us) of every kernel
    for e in prof.events():
        if e.device_type == torch.autograd.DeviceType.CUDA and e.device_time_total > 0:
            k = kernels[e.name]
            k[0] += 1
            k[1] += e.device_time_total
            launched.append((e.time_range.start, e.name, e.device_time_total))
    total = sum(us for _, us in kernels.values()) / args.calls
    rows = sorted(((name, n / args.calls, us / args.calls, us / n) for name, (n, us) in kernels.items()),
                  key=lambda r: -r[2])
    print(f"{args.model} bs{args.batch}: {total:.1f} us of kernels per call, "
          f"{sum(r[1] for r in rows):.0f} launches per call")
    print(f"{'us/call':>9} {'launches':>8} {'us/launch':>9}  kernel")
    for name, n, us, each in rows[:args.top]:
        print(f"{us:9.1f} {n:8.1f} {each:9.2f}  {name[:150]}")
    sequence = []
    if args.sequence:
        launched.sort()
        per_call = len(launched) // args.calls
        if per_call * args.calls != len(launched):
            print(f"--sequence: {len(launched)} kernels is not {args.calls} equal calls; listing skipped")
        else:
            for i in range(per_call):
                names = {launched[c * per_call + i][1] for c in range(args.calls)}
                us = sum(launched[c * per_call + i][2] for c in range(args.calls)) / args.calls
                name = launched[i][1] if len(names) == 1 else "(differs between calls)"
                sequence.append({"index": i, "name": name, "us": us})
            print(f"{'#':>4} {'us':>8}  kernel (launch order, mean over {args.calls} calls)")
            for r in sequence:
                print(f"{r['index']:4d} {r['us']:8.2f}  {r['name'][:110]}")
    timed = []
    if args.timed:
        for engine in ingot.inspect(compiled)["engines"]:
            for layer in engine["layers"]:
                if layer["kind"] == args.timed and layer["timed"]:
                    out = layer["outputs"][0]["shape"]
                    timed.append({"name": layer["name"], "output": out, "tactic": layer["tactic"],
                                  "timed": {t["tactic"]: t["ms"] for t in layer["timed"]}})
                    best = sorted(layer["timed"], key=lambda t: t["ms"])[:4]
                    print(f"  {layer['name']:<18} {str(out):<22} chose {layer['tactic'][:24]:<24} "
                          + "  ".join(f"{t['tactic'][:20]}={t['ms'] * 1000:.1f}us" for t in best))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": args.model, "batch": args.batch, "gpu": torch.cuda.get_device_name(),
                       "kernel_us_per_call": total, "timed_layers": timed, "sequence": sequence,
                       "kernels": [{"name": r[0], "launches_per_call": r[1], "us_per_call": r[2], "us_per_launch": r[3]}
                                   for r in rows]}, f, indent=1)


if __name__ == "__main__":
    main()
