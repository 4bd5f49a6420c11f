"""ingot against its PyTorch peers on the GPU, in one run, fp16.

    python bench/run.py [--models resnet50,efficientnet_b0,bert,vit_b_16] [--batches 1,32]
                        [--peers eager,compile,reduce-overhead,freeze] [--iters 100] [--json PATH]
                        [--dynamic] [--ingot-env NAME=VALUE ...]

Each (model, batch) runs in its own process. Contestants: eager, torch.compile (default),
torch.compile(mode="reduce-overhead"), torch.compile with inductor freezing +
mode="reduce-overhead" (+ channels_last for CNNs), and ingot (enabled_precisions={fp16}).
Times are medians of CUDA-event-timed calls after warm-up; every output is compared with eager
fp32 by relative L2 error. Prints one table and writes the same as JSON.
"""

import argparse
import copy
import datetime
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = ["eager", "compile", "reduce-overhead", "freeze"]


def worker(args):
    import torch

    sys.path.insert(0, HERE)
    import models
    from ingot._tune import measure_latency_ms

    torch.manual_seed(0)
    model, make_inputs, is_cnn = models.build(args.model)
    model = model.cuda()
    inputs32 = make_inputs(args.batch, "cuda", torch.float32)
    with torch.inference_mode():
        ref = model(*inputs32).float()
    half = copy.deepcopy(model).half()
    inputs16 = tuple(x.half() if x.is_floating_point() else x for x in inputs32)
    result = {"model": args.model, "batch": args.batch, "gpu": torch.cuda.get_device_name(), "results": {}}
    if args.build_only:
        build_only(args, half, inputs16, ref)
        return

    def record(name, fn, build_s, inputs):
        with torch.inference_mode():
            out = fn(*inputs)
            rel = ((out.float() - ref).norm() / ref.norm()).item()
            ms = measure_latency_ms(fn, inputs, warmup=args.warmup, iters=args.iters)  # CUDA events
        result["results"][name] = {"ms": ms, "rel_l2": rel, "build_s": build_s}
        print(f"  {args.model} bs{args.batch} {name}: {ms:.3f} ms, rel-L2 {rel:.2e}, build {build_s:.1f} s", flush=True)

    for peer in args.peers:
        torch._dynamo.reset()
        m = copy.deepcopy(half)
        inputs = inputs16
        t0 = time.perf_counter()
        try:
            if peer == "eager":
                fn = m
            elif peer == "compile":
                fn = torch.compile(m)
            elif peer == "reduce-overhead":
                fn = torch.compile(m, mode="reduce-overhead")
            elif peer == "freeze":
                import torch._inductor.config as inductor_config

                if is_cnn:
                    m = m.to(memory_format=torch.channels_last)
                    inputs = tuple(x.to(memory_format=torch.channels_last) for x in inputs16)
                inductor_config.freezing = True
                fn = torch.compile(m, mode="reduce-overhead")
            with torch.inference_mode():
                fn(*inputs)  # compile happens here
                torch.cuda.synchronize()
            record(peer, fn, time.perf_counter() - t0, inputs)
        except Exception as e:  # a peer failing must not hide the others
            result["results"][peer] = {"error": f"{type(e).__name__}: {e}"[:500]}
            print(f"  {args.model} bs{args.batch} {peer}: FAILED {type(e).__name__}: {e}"[:500], flush=True)
        finally:
            if peer == "freeze":
                import torch._inductor.config as inductor_config

                inductor_config.freezing = False

    if not args.no_ingot:
        import ingot

        torch._dynamo.reset()
        t0 = time.perf_counter()
        try:
            compiled = ingot.compile(half, inputs=list(inputs16), enabled_precisions={torch.float16}, device="cuda",
                                     optimization_level=args.opt_level, timing_cache=args.timing_cache)
            build_s = time.perf_counter() - t0
            result["ingot_build_phases_s"] = {k: round(v, 3) for k, v in compiled.build_report.phases.items()}
            if args.timing_cache:  # a second build, reading what the first wrote
                t1 = time.perf_counter()
                warm = ingot.compile(half, inputs=list(inputs16), enabled_precisions={torch.float16}, device="cuda",
                                     optimization_level=args.opt_level, timing_cache=args.timing_cache)
                result["ingot_warm_cache_build_s"] = time.perf_counter() - t1
                result["ingot_warm_cache_build_phases_s"] = {k: round(v, 3) for k, v in warm.build_report.phases.items()}
                del warm
                print(f"  {args.model} bs{args.batch} ingot build with a warm timing cache: "
                      f"{result['ingot_warm_cache_build_s']:.1f} s", flush=True)
                fresh = fresh_process_build(args)
                result["ingot_fresh_process_warm_build"] = fresh
                if "build_s" in fresh:
                    print(f"  {args.model} bs{args.batch} ingot build with a warm timing cache in a new process: "
                          f"{fresh['build_s']:.2f} s, first call {fresh['first_call_s']:.2f} s", flush=True)
            report = ingot.segmentation_report(compiled)
            result["ingot_engines"] = report["num_engines"]
            result["ingot_ops_in_engines"] = f"{report['ops_in_engines']}/{report['num_ops']}"
            result["ingot_tactics"] = tactic_summary(compiled)
            record("ingot", compiled, build_s, inputs16)
            for variant in args.ingot_env:
                ingot_variant(args, half, inputs16, variant, compiled, record, result)
            if args.profile:
                with torch.inference_mode(), ingot.profile(compiled) as prof:
                    for _ in range(20):
                        compiled(*inputs16)
                prof.save_json(args.profile.format(model=args.model, batch=args.batch))
                print(prof, flush=True)
        except Exception as e:
            result["results"]["ingot"] = {"error": f"{type(e).__name__}: {e}"[:2000]}
            print(f"  {args.model} bs{args.batch} ingot: FAILED {type(e).__name__}: {e}"[:2000], flush=True)
        if args.dynamic:
            dynamic_engine(args, half, inputs16, record, result)
    print("RESULT " + json.dumps(result), flush=True)


def build_only(args, half, inputs16, ref):
    """--build-only: one ingot build (what a later run of a user's script does with the timing
    cache an earlier one wrote) and its first call, timed apart from imports and model setup."""
    import torch

    import ingot

    t0 = time.perf_counter()
    compiled = ingot.compile(half, inputs=list(inputs16), enabled_precisions={torch.float16}, device="cuda",
                             optimization_level=args.opt_level, timing_cache=args.timing_cache)
    t1 = time.perf_counter()
    with torch.inference_mode():
        out = compiled(*inputs16)
        torch.cuda.synchronize()
    t2 = time.perf_counter()
    rel = ((out.float() - ref).norm() / ref.norm()).item()
    print("BUILD " + json.dumps({"build_s": t1 - t0, "first_call_s": t2 - t1, "rel_l2": rel,
                                  "phases_s": {k: round(v, 3) for k, v in compiled.build_report.phases.items()}}),
          flush=True)


def fresh_process_build(args):
    """Runs --build-only in a new process on the timing cache (and cuDNN plan file) this worker's
    builds wrote: the warm build a user's second run gets, which no in-process cache helps."""
    cmd = [sys.executable, __file__, "--worker", "--build-only", "--model", args.model, "--batch", str(args.batch),
           "--opt-level", str(args.opt_level), "--timing-cache", args.timing_cache]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return {"error": "timed out after 300 s"}
    got = [l for l in proc.stdout.splitlines() if l.startswith("BUILD ")]
    return json.loads(got[-1][len("BUILD "):]) if got else {"error": proc.stderr[-2000:]}


def tactic_summary(compiled):
    """How many layers of each kind run which implementation: {"attention": {"ingot:attention": 12}, ...}.
    A tactic's family is its text before the first ':' argument ("lt:17" -> "lt", "ingot:depthwise" stays)."""
    import ingot

    summary = {}
    for engine in ingot.inspect(compiled)["engines"]:
        for layer in engine["layers"]:
            tactic = layer.get("tactic") or "kernel"
            family = tactic if tactic.startswith("ingot:") else tactic.split(":")[0]
            kinds = summary.setdefault(layer["kind"], {})
            kinds[family] = kinds.get(family, 0) + 1
    return summary


def dynamic_engine(args, half, inputs16, record, result):
    """--dynamic: the same model as one engine over batch 1..2B (opt B), timed at batch B next
    to the static engine (the dynamic engine should be within 10% of it at its opt shape)."""
    import torch

    import ingot

    torch._dynamo.reset()
    b = args.batch
    specs = [ingot.Input(min_shape=(1,) + tuple(x.shape[1:]), opt_shape=tuple(x.shape),
                         max_shape=(2 * b,) + tuple(x.shape[1:]), dtype=x.dtype) for x in inputs16]
    t0 = time.perf_counter()
    try:
        compiled = ingot.compile(half, inputs=specs, enabled_precisions={torch.float16}, device="cuda",
                                 optimization_level=args.opt_level)
        record("ingot-dynamic", compiled, time.perf_counter() - t0, inputs16)
        # Every batch in range runs without a rebuild.
        with torch.inference_mode():
            for batch in sorted({1, b, 2 * b}):
                compiled(*(torch.cat([x] * 2)[:batch] for x in inputs16))
        static = result["results"].get("ingot", {}).get("ms")
        if static:
            ratio = result["results"]["ingot-dynamic"]["ms"] / static
            result["results"]["ingot-dynamic"]["vs_static"] = ratio
            print(f"  {args.model} bs{b} dynamic/static: {ratio:.3f} (goal <= 1.10)", flush=True)
    except Exception as e:
        result["results"]["ingot-dynamic"] = {"error": f"{type(e).__name__}: {e}"[:2000]}
        print(f"  {args.model} bs{b} ingot-dynamic: FAILED {type(e).__name__}: {e}"[:2000], flush=True)


def ingot_variant(args, half, inputs16, variant, base, record, result):
    """--ingot-env NAME=VALUE: ingot built again with that environment variable set (from the
    same timing cache when there is one), recorded as "ingot NAME=VALUE"; then the default
    engine and the variant are timed in turns, three rounds each, so that the ratio of their
    medians (variant / default, below 1: the variant is faster) does not ride on drift."""
    import torch

    import ingot
    from ingot._tune import measure_latency_ms

    name, _, value = variant.partition("=")
    label = f"ingot {variant}"
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        torch._dynamo.reset()
        t0 = time.perf_counter()
        compiled = ingot.compile(half, inputs=list(inputs16), enabled_precisions={torch.float16}, device="cuda",
                                 optimization_level=args.opt_level, timing_cache=args.timing_cache)
        record(label, compiled, time.perf_counter() - t0, inputs16)
        times = {"default": [], "variant": []}
        with torch.inference_mode():
            for _ in range(3):
                times["default"].append(measure_latency_ms(base, inputs16, warmup=args.warmup, iters=args.iters))
                times["variant"].append(measure_latency_ms(compiled, inputs16, warmup=args.warmup, iters=args.iters))
        ratio = sorted(times["variant"])[1] / sorted(times["default"])[1]
        result["results"][label]["vs_default"] = ratio
        result["results"][label]["turns_ms"] = times
        print(f"  {args.model} bs{args.batch} {label} / default, timed in turns: {ratio:.3f}", flush=True)
    except Exception as e:
        result["results"][label] = {"error": f"{type(e).__name__}: {e}"[:2000]}
        print(f"  {args.model} bs{args.batch} {label}: FAILED {type(e).__name__}: {e}"[:2000], flush=True)
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old


def table(rows, peers):
    dynamic = any("ingot-dynamic" in r["results"] for r in rows)
    head = ["model", "batch"] + peers + ["ingot", "speedup", "ingot rel-L2", "ingot build s"]
    warm = any("ingot_warm_cache_build_s" in r for r in rows)
    if warm:
        head += ["warm build s", "new-process warm build s"]
    if dynamic:
        head += ["ingot dynamic (1..2B)", "dynamic/static"]
    variants = sorted({k for r in rows for k in r["results"] if k.startswith("ingot ") and k != "ingot-dynamic"})
    for v in variants:
        head += [v, f"{v} / default"]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        res = r["results"]
        cells = [r["model"], str(r["batch"])]
        best = None
        for p in peers:
            ms = res.get(p, {}).get("ms")
            cells.append(f"{ms:.3f}" if ms else "fail")
            if ms and (best is None or ms < best):
                best = ms
        ing = res.get("ingot", {})
        cells.append(f"{ing['ms']:.3f}" if "ms" in ing else "fail")
        cells.append(f"{best / ing['ms']:.2f}x" if "ms" in ing and best else "-")
        cells.append(f"{ing['rel_l2']:.2e}" if "rel_l2" in ing else "-")
        cells.append(f"{ing['build_s']:.1f}" if "build_s" in ing else "-")
        if warm:
            w = r.get("ingot_warm_cache_build_s")
            cells.append(f"{w:.2f}" if w is not None else "-")
            fresh = r.get("ingot_fresh_process_warm_build", {})
            cells.append(f"{fresh['build_s']:.2f}" if "build_s" in fresh else "-")
        if dynamic:
            dyn = res.get("ingot-dynamic", {})
            cells.append(f"{dyn['ms']:.3f}" if "ms" in dyn else "fail")
            cells.append(f"{dyn['vs_static']:.3f}" if "vs_static" in dyn else "-")
        for v in variants:
            var = res.get(v, {})
            cells.append(f"{var['ms']:.3f}" if "ms" in var else ("fail" if var else "-"))
            cells.append(f"{var['vs_default']:.3f}" if "vs_default" in var else "-")
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="resnet50,efficientnet_b0,bert,vit_b_16")
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--opt-level", type=int, default=3)
    ap.add_argument("--timing-cache", default=None,
                    help="ingot timing cache file; ingot is built a second time from it, in the same process and "
                    "in a new one, and those build times reported")
    ap.add_argument("--no-ingot", action="store_true")
    ap.add_argument("--dynamic", action="store_true",
                    help="also build ingot with Input(min batch 1, opt B, max 2B) and report its time next to the static engine's")
    ap.add_argument("--worker-timeout", type=int, default=400)
    ap.add_argument("--profile", default=None, help="write ingot's per-layer profile (JSON, ingot.profile) to this file; "
                    "{model} and {batch} in the path are replaced")
    ap.add_argument("--ingot-env", action="append", default=[], metavar="NAME=VALUE",
                    help="also build and time ingot with this environment variable set (repeatable), in turns "
                    "with the default engine")
    ap.add_argument("--json", default=None)
    ap.add_argument("--worker", action="store_true")
    ap.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--model")
    ap.add_argument("--batch", type=int)
    args = ap.parse_args()
    args.peers = [p for p in args.peers.split(",") if p]
    if args.worker:
        worker(args)
        return
    rows = []
    for model in args.models.split(","):
        for batch in (int(b) for b in args.batches.split(",")):
            cmd = [sys.executable, __file__, "--worker", "--model", model, "--batch", str(batch), "--peers",
                   ",".join(args.peers), "--iters", str(args.iters), "--warmup", str(args.warmup), "--opt-level",
                   str(args.opt_level)] + (["--no-ingot"] if args.no_ingot else []) + (["--dynamic"] if args.dynamic else []) + (
                       ["--profile", args.profile] if args.profile else []) + (
                       ["--timing-cache", args.timing_cache] if args.timing_cache else []) + [
                       f"--ingot-env={v}" for v in args.ingot_env]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.worker_timeout)
                stdout, stderr = proc.stdout, proc.stderr
            except subprocess.TimeoutExpired as e:
                stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
                stderr = f"worker timed out after {args.worker_timeout} s"
            sys.stdout.write("".join(l + "\n" for l in stdout.splitlines() if not l.startswith("RESULT ")))
            got = [l for l in stdout.splitlines() if l.startswith("RESULT ")]
            if got:
                rows.append(json.loads(got[-1][len("RESULT "):]))
            else:
                print(f"{model} bs{batch}: worker failed\n{stderr[-3000:]}")
                rows.append({"model": model, "batch": batch, "results": {}, "error": stderr[-3000:]})
            if args.json:  # after every configuration, so that a cut-off run still leaves data
                with open(args.json, "w") as f:
                    json.dump({"date": datetime.datetime.now().isoformat(timespec="seconds"), "rows": rows}, f, indent=1)
    text = table(rows, args.peers)
    print(text)
    out = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "rows": rows, "table": text}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
