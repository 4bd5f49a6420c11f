"""Conformance run: compiles every zoo model with random weights, with ingot.compile and with
the torch.compile backend, and reports per model whether it compiled (or the error), the number
of engines, the share of ops in engines, the relative L2 error against eager fp32, and on a GPU
the fp16 error and speedup over eager fp16.

    python zoo/run.py [--device cpu|cuda] [--models SUBSTR,...] [--jobs N] [--timeout S]
                      [--out zoo/results/NAME [--resume]]   (writes NAME.json, NAME.md, NAME.jsonl)
                      [--gpu-passes]   (CPU: through the CUDA backend's graph passes, fp32, fp16 and bf16)

Each model runs in its own process (a crash or a hang costs one row). On the CPU the models run
small (see zoo/models.py); --full keeps their real sizes.
"""

from __future__ import annotations

import argparse
import collections
import copy
import concurrent.futures
import datetime
import json
import os
import re
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOLERANCE = {"fp32": 1e-3, "fp16": 1e-2, "bf16": 3e-2}


def rel_l2(actual, expected) -> float:
    import torch

    worst = 0.0
    for a, e in zip(_flat(actual), _flat(expected)):
        if not isinstance(e, torch.Tensor):
            continue
        if not isinstance(a, torch.Tensor) or a.shape != e.shape:
            return float("inf")
        a, e = a.detach().double().cpu(), e.detach().double().cpu()
        denom = e.norm().item()
        worst = max(worst, (a - e).norm().item() / (denom if denom > 0 else 1.0))
    return worst


def _flat(x):
    if isinstance(x, (list, tuple)):
        return [y for item in x for y in _flat(item)]
    if isinstance(x, dict):
        return [y for item in x.values() for y in _flat(item)]
    return [x]


def _short(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}".strip().replace("\n", " ")
    return text[:400]


def _torch_ops(gm):
    """ATen ops left in PyTorch code in a module returned by ingot.compile."""
    import torch

    ops = collections.Counter()
    for node in gm.graph.nodes:
        if node.op == "call_function" and isinstance(node.target, torch._ops.OpOverload) \
                and node.target.namespace != "ingot":
            ops[str(node.target.overloadpacket).replace("aten.", "aten::")] += 1
    return dict(ops)


def worker(name: str, device: str, small: bool, half: bool = False) -> dict:
    import torch

    sys.path.insert(0, HERE)
    import models
    import ingot
    from ingot._tune import measure_latency_ms  # median of CUDA-event-timed calls

    torch.manual_seed(0)
    zm = models.by_name(name)
    row = {"model": name, "family": zm.family, "device": device}
    model = zm.build(small)
    # a pristine copy for the fp16 run: running a model can leave state behind (timm's LeViT
    # caches its attention biases in the dtype of the first run)
    half = half or device == "cuda"
    model16 = copy.deepcopy(model) if half else None
    model_bf = copy.deepcopy(model) if half and device == "cpu" else None
    inputs = zm.inputs(small, 1)
    with torch.no_grad():
        ref = model(*inputs)
    row["params_m"] = round(sum(p.numel() for p in model.parameters()) / 1e6, 2)
    row["input_shapes"] = [list(x.shape) for x in inputs]

    # ingot.compile, fp32 (TF32 off so the comparison is against fp32 arithmetic)
    dev_inputs = tuple(x.to(device) for x in inputs)
    model = model.to(device)
    try:
        t = time.perf_counter()
        gm = ingot.compile(model, inputs=list(dev_inputs), device=device, disable_tf32=True)
        row["build_s"] = round(time.perf_counter() - t, 2)
        row["export_s"] = round(gm.build_report.phases["export"], 2)
        row["retrace"] = gm.build_report.retrace  # None: training IR lowered in place
        with torch.no_grad():
            out = gm(*dev_inputs)
        report = ingot.segmentation_report(gm)
        row["compiled"] = True
        row["engines"] = report["num_engines"]
        row["ops"] = report["num_ops"]
        row["ops_in_engines"] = report["ops_in_engines"]
        row["torch_ops"] = _torch_ops(gm)
        row["rel_err_fp32"] = rel_l2(out, ref)
    except Exception as e:  # a row per failure, the run goes on
        row["compiled"] = False
        row["error"] = _short(e)
        row["traceback"] = traceback.format_exc()[-3000:]

    # the torch.compile backend, fp32
    try:
        torch._dynamo.reset()
        cm = torch.compile(model, backend="ingot", options={"device": device, "disable_tf32": True})
        with torch.no_grad():
            out = cm(*dev_inputs)
        row["dynamo_compiled"] = True
        row["dynamo_rel_err_fp32"] = rel_l2(out, ref)
    except Exception as e:
        row["dynamo_compiled"] = False
        row["dynamo_error"] = _short(e)

    # fp16 accuracy (on the GPU, and on the CPU with --gpu-passes), and on the GPU its speed
    # against eager fp16
    if half and row.get("compiled"):
        try:
            half_model = model16.to(device).half()
            inputs16 = tuple(x.half() if x.is_floating_point() else x for x in dev_inputs)
            gm16 = ingot.compile(half_model, inputs=list(inputs16), device=device, enabled_precisions={torch.float16})
            with torch.no_grad():
                row["rel_err_fp16"] = rel_l2(gm16(*inputs16), ref)
                # eager PyTorch's own fp16 error: where it is large too, the model's outputs do
                # not fit half precision (e.g. random-weight outputs below fp16's range)
                try:
                    row["eager_rel_err_fp16"] = rel_l2(half_model(*inputs16), ref)
                except Exception as e:  # eager fp16 lacks some CPU kernels
                    row["eager_fp16_error"] = _short(e)
                if device == "cuda":
                    eager_ms = measure_latency_ms(half_model, inputs16, warmup=3, iters=30)
                    ingot_ms = measure_latency_ms(gm16, inputs16, warmup=3, iters=30)
                    row["eager_fp16_ms"] = round(eager_ms, 3)
                    row["ingot_fp16_ms"] = round(ingot_ms, 3)
                    row["speedup_fp16"] = round(eager_ms / ingot_ms, 2)
        except Exception as e:
            row["fp16_error"] = _short(e)
    # bf16 as well on the CPU: the same passes, with fp32's exponent range, so that models whose
    # random-weight outputs fall below fp16's range (eager fp16 then gives zeros too) are checked
    if half and device == "cpu" and row.get("compiled"):
        try:
            bf = model_bf.to(torch.bfloat16)
            inputs_bf = tuple(x.to(torch.bfloat16) if x.is_floating_point() else x for x in dev_inputs)
            gm_bf = ingot.compile(bf, inputs=list(inputs_bf), device=device, enabled_precisions={torch.bfloat16})
            with torch.no_grad():
                row["rel_err_bf16"] = rel_l2(gm_bf(*inputs_bf), ref)
                try:
                    row["eager_rel_err_bf16"] = rel_l2(bf(*inputs_bf), ref)
                except Exception as e:
                    row["eager_bf16_error"] = _short(e)
        except Exception as e:
            row["bf16_error"] = _short(e)
    return row


def passed(row: dict) -> bool:
    return bool(row.get("compiled")) and row.get("rel_err_fp32", float("inf")) <= TOLERANCE["fp32"]


def run_one(name: str, args) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", name, "--device", args.device]
    if args.full:
        cmd.append("--full")
    if args.gpu_passes:
        cmd.append("--gpu-passes")
    t = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"model": name, "compiled": False, "error": f"timed out after {args.timeout} s"}
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("ZOO-ROW "):
            row = json.loads(line[len("ZOO-ROW "):])
            row["wall_s"] = round(time.perf_counter() - t, 1)
            return row
    last = " / ".join(line.strip() for line in p.stderr.strip().splitlines()[-3:])
    return {"model": name, "compiled": False, "error": f"worker exited with {p.returncode}: {last[-400:]}"}


def fmt(x, spec=".1e"):
    return "-" if x is None else format(x, spec)


def table(rows, device) -> str:
    half = device == "cuda" or any("rel_err_fp16" in r or "fp16_error" in r for r in rows)
    bf16 = any("rel_err_bf16" in r or "bf16_error" in r for r in rows)
    lines = ["| model | ingot.compile | engines | ops in engines | rel err fp32 | export | torch.compile backend |"
             + (" rel err fp16 (eager fp16's) | speedup fp16 vs eager |" if half else "")
             + (" rel err bf16 (eager bf16's) |" if bf16 else ""),
             "| --- | --- | --- | --- | --- | --- | --- |" + (" --- | --- |" if half else "") + (" --- |" if bf16 else "")]
    for r in rows:
        if r.get("compiled"):
            status = "ok" if passed(r) else "MISMATCH"
            share = f"{r['ops_in_engines']}/{r['ops']} ({100 * r['ops_in_engines'] / max(r['ops'], 1):.0f}%)"
            export = "-" if "retrace" not in r else (
                "in place" if r["retrace"] is None else "retraced: " + r["retrace"][:100].replace("|", "/"))
            cols = [status, str(r["engines"]), share, fmt(r.get("rel_err_fp32")), export]
        else:
            cols = ["error: " + r.get("error", "?")[:160].replace("|", "/"), "-", "-", "-", "-"]
        if r.get("dynamo_compiled"):
            d_ok = r.get("dynamo_rel_err_fp32", float("inf")) <= TOLERANCE["fp32"]
            cols.append(("ok " if d_ok else "MISMATCH ") + fmt(r.get("dynamo_rel_err_fp32")))
        else:
            cols.append("error: " + (r.get("dynamo_error") or "not run")[:120].replace("|", "/"))
        if half:
            fp16 = f"{fmt(r.get('rel_err_fp16'))} ({fmt(r.get('eager_rel_err_fp16'))})" if "rel_err_fp16" in r \
                else "error: " + r.get("fp16_error", "-")[:80].replace("|", "/")
            cols += [fp16, fmt(r.get("speedup_fp16"), ".2f")]
        if bf16:
            cols.append(f"{fmt(r.get('rel_err_bf16'))} ({fmt(r.get('eager_rel_err_bf16'))})" if "rel_err_bf16" in r
                        else "error: " + r.get("bf16_error", "-")[:80].replace("|", "/"))
        lines.append(f"| {r['model']} | " + " | ".join(cols) + " |")
    return "\n".join(lines)


def summary(rows) -> str:
    n = len(rows)
    ok = sum(passed(r) for r in rows)
    single = sum(passed(r) and r.get("engines") == 1 and r.get("ops_in_engines") == r.get("ops") for r in rows)
    dyn = sum(bool(r.get("dynamo_compiled")) and r.get("dynamo_rel_err_fp32", 9) <= TOLERANCE["fp32"] for r in rows)
    in_place = sum(r.get("compiled", False) and "retrace" in r and r["retrace"] is None for r in rows)
    retraced = collections.Counter(re.sub(r"^node \S+ ", "", r["retrace"]) for r in rows if r.get("retrace"))
    missing = collections.Counter()
    for r in rows:
        for op in r.get("torch_ops", {}):
            missing[op] += 1
    out = [f"{ok}/{n} models compile and match eager fp32 (rel-L2 <= {TOLERANCE['fp32']}): {100 * ok / max(n, 1):.1f}%",
           f"{single}/{n} run as a single engine with every op in it: {100 * single / max(n, 1):.1f}%",
           f"{dyn}/{n} compile and match through torch.compile(backend='ingot'): {100 * dyn / max(n, 1):.1f}%",
           f"{in_place}/{n} exported without a retrace (training IR lowered in place); retraced for: "
           + (", ".join(f"{why} ({k})" for why, k in retraced.most_common()) or "none"),
           "ops left in PyTorch, by how many models need them: "
           + (", ".join(f"{op} ({k})" for op, k in missing.most_common()) or "none")]
    bfs = [r for r in rows if "rel_err_bf16" in r or "bf16_error" in r]
    if bfs:
        okbf = sum("rel_err_bf16" in r and r["rel_err_bf16"] <= max(TOLERANCE["bf16"], 2 * r.get("eager_rel_err_bf16", 0))
                   for r in bfs)
        out.append(f"{okbf}/{len(bfs)} bf16 engines within rel-L2 {TOLERANCE['bf16']} of eager fp32 "
                   "(or no worse than twice eager bf16's error)")
    halves = [r for r in rows if "rel_err_fp16" in r or "fp16_error" in r]
    if halves:
        # fp16 within the tolerance, or no worse than twice eager fp16's own error
        ok16 = sum("rel_err_fp16" in r and r["rel_err_fp16"] <= max(TOLERANCE["fp16"], 2 * r.get("eager_rel_err_fp16", 0))
                   for r in halves)
        out.append(f"{ok16}/{len(halves)} fp16 engines within rel-L2 {TOLERANCE['fp16']} of eager fp32 "
                   "(or no worse than twice eager fp16's error)")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--models", default="", help="comma-separated substrings of model names")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--full", action="store_true", help="real sizes on the CPU too")
    ap.add_argument("--out", default="", help="writes OUT.json, OUT.md, and OUT.jsonl row by row")
    ap.add_argument("--resume", action="store_true", help="skip the models already in OUT.jsonl")
    ap.add_argument("--report", action="store_true", help="run nothing: the table from OUT.jsonl (with --resume)")
    ap.add_argument("--gpu-passes", action="store_true",
                    help="CPU: build through the CUDA backend's graph passes (INGOT_CPU_GPU_PASSES=1) and also "
                    "compile fp16, so that the passes' rewrites are checked against eager without a GPU")
    ap.add_argument("--worker", default="")
    args = ap.parse_args()
    if args.gpu_passes:
        os.environ["INGOT_CPU_GPU_PASSES"] = "1"  # the workers inherit it
    small = not args.full and args.device == "cpu"
    if args.worker:
        row = worker(args.worker, args.device, small, half=args.gpu_passes)
        print("ZOO-ROW " + json.dumps(row), flush=True)
        return
    sys.path.insert(0, HERE)
    import models

    names = [m.name for m in models.zoo()]
    if args.models:
        keys = args.models.split(",")
        names = [n for n in names if any(k in n for k in keys)]
    rows = {}
    partial = args.out + ".jsonl" if args.out else ""
    if partial and args.resume and os.path.exists(partial):
        with open(partial) as f:
            for line in f:
                r = json.loads(line)
                rows[r["model"]] = r
        print(f"resuming: {len(rows)} model(s) already done", flush=True)
    if partial:
        os.makedirs(os.path.dirname(os.path.abspath(partial)), exist_ok=True)
    todo = [] if args.report else [n for n in names if n not in rows]
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(run_one, n, args): n for n in todo}
        for f in concurrent.futures.as_completed(futures):
            r = f.result()
            rows[r["model"]] = r
            if partial:  # each row as it lands, so an interrupted run keeps what it measured
                with open(partial, "a") as out:
                    out.write(json.dumps(r) + "\n")
            flag = "ok" if passed(r) else ("MISMATCH" if r.get("compiled") else "FAIL")
            print(f"[{len(rows)}/{len(names)}] {r['model']}: {flag} {r.get('error', '')[:200]}", flush=True)
    ordered = [rows[n] for n in names if n in rows]
    text = table(ordered, args.device) + "\n\n" + summary(ordered)
    print(text)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        meta = {"date": datetime.date.today().isoformat(), "device": args.device, "small": small}
        with open(args.out + ".json", "w") as f:
            json.dump({"meta": meta, "rows": ordered}, f, indent=1)
        with open(args.out + ".md", "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
