"""ingot: compile PyTorch models into inference engines.

    import ingot
    trt = ingot.compile(model, ir="dynamo", inputs=[ingot.Input(shape=(2, 3, 224, 224))])
    ingot.save(trt, "model.pt2")
    again = ingot.load("model.pt2")

The API mirrors torch_tensorrt for the common calls.
"""

from ingot._errors import Error
from ingot import _runtime  # noqa: F401  (registers torch.ops.ingot.execute_engine)
from ingot._input import Input
from ingot._compile import compile, convert_method_to_engine, list_supported_ops, segmentation_report
from ingot._inspect import inspect
from ingot._profile import Profile, profile
from ingot._save_load import load, save
from ingot._tune import TuneResult, tune
from ingot._dynamic import last_profiles
from ingot import _dynamo_backend

# torch.compile(backend="ingot"): an installed ingot is found through its torch_dynamo_backends
# entry point; a source checkout on PYTHONPATH has none, so register here as well.
_dynamo_backend.register()

__version__ = "0.1.0"

__all__ = ["Error", "Input", "Profile", "TuneResult", "compile", "convert_method_to_engine", "inspect",
           "last_profiles", "list_supported_ops", "load", "profile", "save", "segmentation_report", "tune", "__version__"]
