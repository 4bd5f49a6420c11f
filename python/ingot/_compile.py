"""ingot.compile: nn.Module or ExportedProgram -> torch.fx.GraphModule with engines inside."""

from __future__ import annotations

import logging
import operator
import os
import time
from typing import Any, Dict, Optional, Sequence

import torch
from torch.export import ExportedProgram

from ingot import _C, _build_log, _dynamic, _frontend, _profile, _regenerate, _training_ir
from ingot._errors import Error
from ingot._input import Input
from ingot._settings import CompileSettings, make_settings

logger = logging.getLogger("ingot")

# Ops kept whole instead of decomposed: the engine has a layer for them.
# Ops kept whole instead of decomposed: ingot converts them directly (attention into one
# layer; resampling into constant separable maps, cheaper than the gather-based decompositions).
_aten = torch.ops.aten
_KEEP = [
    _aten.scaled_dot_product_attention.default,
    _aten.upsample_nearest1d.vec, _aten.upsample_nearest3d.vec, _aten.upsample_linear1d.vec,
    _aten.upsample_trilinear3d.vec, _aten._upsample_nearest_exact1d.vec, _aten._upsample_nearest_exact2d.vec,
    _aten._upsample_nearest_exact3d.vec, _aten.upsample_bicubic2d.vec, _aten.adaptive_avg_pool1d.default,
]


def decomposition_table():
    table = torch.export.default_decompositions()
    for op in _KEEP:
        table.pop(op, None)
    return table


def _to_core(ep: ExportedProgram, ours: bool, export_again):
    """(the program in the ATen forms the converters take, why it was retraced or None). A
    program we exported ourselves is rewritten in place when _training_ir can keep it exact (no
    retrace, see there); any other program, and one it declines, goes through
    run_decompositions. INGOT_RETRACE=1 always retraces (to compare the two paths)."""
    if not ours:
        why = "the program was given as an ExportedProgram"
    elif os.environ.get("INGOT_RETRACE", "0") == "1":
        why = "INGOT_RETRACE=1"
    else:
        try:
            why = _training_ir.lower(ep)
        except _training_ir.PartlyLowered as e:
            # Half rewritten: export again and retrace that (slow, but exact).
            logger.warning("lowering the exported graph in place failed (%s); exporting again", e)
            why = f"lowering in place failed: {e}"
            ep = export_again()
        if why is None:
            logger.debug("export: training IR lowered in place (no retrace)")
            return ep, None
    logger.debug("export: retracing with run_decompositions: %s", why)
    return ep.run_decompositions(decomposition_table()), why


def _as_inputs(inputs) -> list:
    out = []
    for i, x in enumerate(inputs or []):
        if isinstance(x, Input):
            out.append(x)
        elif isinstance(x, torch.Tensor):
            out.append(Input.from_tensor(x))
        else:
            raise Error(f"inputs[{i}] must be an ingot.Input or a torch.Tensor, got {type(x).__name__}")
    return out


def _model_device(module: torch.nn.Module, default: torch.device) -> torch.device:
    for t in list(module.parameters()) + list(module.buffers()):
        return t.device
    return default


def compile(
    module,
    ir: str = "default",
    inputs: Optional[Sequence] = None,
    *,
    arg_inputs: Optional[Sequence] = None,
    kwarg_inputs: Optional[Dict[str, Any]] = None,
    enabled_precisions=None,
    min_block_size: int = 5,
    torch_executed_ops=None,
    require_full_compilation: bool = False,
    device=None,
    optimization_level: Optional[int] = None,
    disable_tf32: bool = False,
    dryrun: bool = False,
    timing_cache=None,
    progress: Optional[bool] = None,
    _report_only: bool = False,
    **unknown,
) -> torch.fx.GraphModule:
    """Compiles `module` (an nn.Module or a torch.export ExportedProgram) into a GraphModule
    whose supported parts run in ingot engines and whose other parts stay PyTorch code.

    The arguments mirror torch_tensorrt.compile. `inputs` are ingot.Input specs or example
    tensors (required for an nn.Module), or a list of Input lists: one list per optimization
    profile (see ingot._dynamic). `device` picks the backend: a CUDA device builds CUDA
    engines, anything else the CPU reference backend.

    dryrun=True builds nothing: it prints the partition (segments, every op that stays in
    PyTorch with the reason, the min_block_size options) and returns None. progress: None shows
    a tqdm bar for builds over a second when stderr is a terminal, True always (after a
    second), False never. Phases are logged under the "ingot" logger (INFO: summary, DEBUG:
    per phase and per lowering pass); the returned module has `build_report`.

    timing_cache: a file path (CUDA). Tactics timed by earlier builds with the same layers,
    shapes, GPU and optimization level are read from it instead of timed again, and new
    measurements are added to it. Builds in one process share their measurements regardless.
    """
    if unknown:
        raise Error(f"unknown compile setting(s): {', '.join(sorted(unknown))}")
    if ir not in ("default", "dynamo"):
        raise Error(f"ir={ir!r} is not supported; use 'dynamo' (or 'default')")
    settings = make_settings(enabled_precisions, min_block_size, torch_executed_ops, require_full_compilation,
                             device, optimization_level, disable_tf32, dryrun, timing_cache)
    if settings.device.type not in ("cpu", "cuda"):
        raise Error(f"device {settings.device} is not supported; use a CUDA device or 'cpu'")
    if settings.device.type == "cuda":
        if not torch.cuda.is_available():
            raise Error("device='cuda' was requested, but PyTorch sees no CUDA GPU")
        why = _C.backend_status("cuda")
        if why:
            raise Error(f"device='cuda' needs ingot's CUDA backend: {why}")
    if arg_inputs is not None:
        if inputs is not None:
            raise Error("give inputs= or arg_inputs=, not both")
        inputs = arg_inputs
    t0 = time.perf_counter()
    profiles = None
    if _dynamic.is_profile_list(inputs):
        profiles = [_as_inputs(p) for p in inputs]
        if any(not isinstance(x, Input) for p in inputs for x in p):
            raise Error("optimization profiles (a list of input lists) must hold ingot.Input specs, not tensors")
        inputs = _dynamic.union_inputs(profiles)
    if isinstance(module, ExportedProgram):
        ep = module
        specs = _as_inputs(inputs) if inputs else [
            Input.from_tensor(n.meta["val"]) if not _has_symbols(n.meta["val"]) else None
            for n in ep.graph.nodes if n.op == "placeholder" and n.name in ep.graph_signature.user_inputs]
        example = None
    elif isinstance(module, torch.nn.Module):
        if not inputs:
            raise Error("compiling an nn.Module needs inputs=[ingot.Input(...) or example tensors]")
        specs = _as_inputs(inputs)
        tensors = [x for x in inputs if isinstance(x, torch.Tensor)]
        example = tuple(inputs) if len(tensors) == len(specs) else None
        module = module.eval()
        ep = _dynamic.export(module, specs, example, kwarg_inputs, _model_device(module, settings.device))
    else:
        raise Error(f"cannot compile a {type(module).__name__}; give an nn.Module or an ExportedProgram")
    ep, retrace = _to_core(ep, isinstance(module, torch.nn.Module), lambda: _dynamic.export(
        module, specs, example, kwarg_inputs, _model_device(module, settings.device)))
    t_export = time.perf_counter() - t0

    logger.debug("export and decompositions: %.3f s", t_export)

    builder = _frontend.GraphBuilder(ep)
    graph = builder.build()
    spec = settings.to_spec("engine")
    if profiles is None and any(s is not None and s.is_dynamic() for s in specs):
        profiles = [specs]
    if profiles is not None:
        spec["profiles"] = _dynamic.symbol_profiles(builder.input_meta, profiles)
    bar = _build_log.Progress(progress)
    try:
        result = _C.compile(graph, spec, bar)
    finally:
        bar.close()
    for name, rewrites, seconds in result.lowering:
        logger.debug("lowering pass %s: %d rewrite(s), %.3f s", name, rewrites, seconds)
    for w in result.warnings:
        logger.warning("%s", w)
    report = dict(result.report)
    report["fallbacks"] = [
        {"node": node, "op": op, "reason": why, "kind": kind, "module": module}
        for node, op, why, kind, module in result.torch_reasons]
    logger.info("%s", report["text"])
    if settings.dryrun:
        if _report_only:
            return report
        print(report["text"])
        return None

    t_module = time.perf_counter()
    input_specs = _input_specs(builder, specs)
    profile_dims = _dynamic.profile_dims(profiles) if profiles is not None else None
    mb = _regenerate.ModuleBuilder(result, builder, input_specs, settings.device, profile_dims)
    gm = mb.build(ep.call_spec.in_spec, ep.call_spec.out_spec)
    total = time.perf_counter() - t0
    build_report = _build_log.make_report(result.timings, t_export, time.perf_counter() - t_module, total,
                                          result.engine_count, result.warnings, retrace)
    _build_log.log_report(build_report)
    gm._ingot_settings = settings
    gm._ingot_report = report
    gm._ingot_input_specs = [s for s in specs if s is not None]
    gm._ingot_profiles = profiles
    gm._ingot_build_seconds = total
    gm._ingot_export_seconds = t_export
    gm.build_report = build_report
    if result.engine_count:
        _profile.attach_methods(gm)
    return gm


def _has_symbols(val) -> bool:
    return any(not isinstance(d, int) for d in val.shape)


def _input_specs(builder, specs):
    """(name, dtype, ((min, max), ...)) per user input, from the exported shapes and Input ranges."""
    out = []
    for k, (name, val) in enumerate(zip(builder.user_inputs, builder.input_meta)):
        spec = specs[k] if k < len(specs) else None
        dims = []
        for d, size in enumerate(val.shape):
            if isinstance(size, int):
                dims.append((size, size))
            elif spec is not None:
                dims.append((spec.min_shape[d], spec.max_shape[d]))
            else:
                dims.append((0, None))
        out.append((name, str(val.dtype).replace("torch.", ""), tuple(dims)))
    return tuple(out)


def list_supported_ops():
    """The exact ATen schemas that ingot converts (read from the converter registry)."""
    return list(_C.list_supported_ops())


def dryrun_report(module, inputs=None, **kwargs) -> dict:
    """Partitions like ingot.compile(..., dryrun=True) without printing; returns the report
    (with "fallbacks": each op kept in PyTorch, its reason and the reason's kind)."""
    return compile(module, inputs=inputs, dryrun=True, _report_only=True, **kwargs)


def segmentation_report(module) -> dict:
    """The partition report of a module returned by ingot.compile."""
    report = getattr(module, "_ingot_report", None)
    if report is None:
        raise Error("this module was not produced by ingot.compile")
    return report


def convert_method_to_engine(module, method_name: str = "forward", *, inputs=None, ir: str = "dynamo",
                             enabled_precisions=None, device=None, **kwargs) -> bytes:
    """Compiles a whole model into one engine and returns its serialized plan (the bytes of an
    .ingot file), for the C++ API and the `ingot` command-line tool. Every op must convert;
    the engine's inputs and outputs are the model's, in order."""
    if method_name != "forward":
        raise Error(f"only method_name='forward' is supported, got {method_name!r}")
    if kwargs.get("dryrun"):
        raise Error("dryrun builds no engine; use ingot.compile(..., dryrun=True)")
    kwargs.update(require_full_compilation=True, min_block_size=1)
    gm = compile(module, ir=ir, inputs=inputs, enabled_precisions=enabled_precisions, device=device, **kwargs)
    calls = [n for n in gm.graph.nodes if n.target == torch.ops.ingot.execute_engine.default]
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    outputs = [n for n in gm.graph.nodes if n.op == "output"][0].args[0]
    if len(calls) != 1:
        raise Error(f"the model compiles to {len(calls)} engines, not one; it cannot be a single engine file")
    call = calls[0]
    if list(call.args[0]) != placeholders:
        raise Error("the engine's inputs are not exactly the model's inputs (an input is unused, or read twice); "
                    "it cannot be a standalone engine file")
    outs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    if any(o.target is not operator.getitem or o.args[0] is not call or o.args[1] != i
           for i, o in enumerate(outs)):
        raise Error("the model's outputs are not exactly the engine's outputs (an output is an input, a constant, "
                    "or returned twice); it cannot be a standalone engine file")
    plan = getattr(gm, call.args[1].target)
    return plan.numpy().tobytes()
