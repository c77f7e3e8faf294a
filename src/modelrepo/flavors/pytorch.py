"""The `pytorch` flavor: a module's weights as safetensors, described in JSON; never pickle.

A version holds two files, written by `save`:

- `model.safetensors`: the module's `state_dict` (tensors only), written by safetensors;
- `pytorch.json`: {"format": "pytorch-safetensors/1", "module": "package.module:ClassName"
  (or null), "kwargs": {JSON constructor arguments}, "dtype": "float32" (inputs are converted
  to it), "features": [names] (optional: accept {feature: value} records), "input_shape":
  [the shape of one row] (optional)}.

The architecture is code, never read from the weights. The caller may pass `module=` (an
`nn.Module` or a zero-argument factory of one) to load the weights into; otherwise the recorded
class is imported and built with the recorded keyword arguments, but only if it is a subclass
of `torch.nn.Module` (anything else is refused before it is called). The weights must fit the
module exactly (`load_state_dict(strict=True)`). The model runs in `eval()` mode under
`torch.inference_mode()` on the CPU. Building from the recorded class imports its module (as
any import does, that runs the module's code), so it must be installed where the version is
loaded; a class defined in a function or in `__main__` is not recorded, and needs `module=`.

Inputs: one row or a list of rows (numbers, nested lists or a NumPy array; {feature: value}
records when `features` was recorded). Outputs mirror that shape as plain lists and floats; a
row whose output is a single number gives that number.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..domain.errors import InvalidInput
from .tabular import _need, _one, _rows

if TYPE_CHECKING:
    import torch

FORMAT = "pytorch-safetensors/1"
DESCRIPTION = "pytorch.json"
WEIGHTS = "model.safetensors"
DTYPES = ("float16", "bfloat16", "float32", "float64")
_CLASS_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def _torch() -> Any:
    found = _need("torch", "pytorch")
    _need("safetensors.torch", "pytorch")
    return found


def _class_path(cls: type) -> str | None:
    """`module:QualName` when importing it gives back `cls` (not for classes made in a function)."""
    path = f"{cls.__module__}:{cls.__qualname__}"
    if "<" in path or cls.__module__ == "__main__" or not _CLASS_PATH.fullmatch(path):
        return None
    try:
        found: Any = importlib.import_module(cls.__module__)
        for part in cls.__qualname__.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return None
    return path if found is cls else None


def save(
    module: torch.nn.Module,
    folder: str | Path,
    *,
    kwargs: Mapping[str, Any] | None = None,
    features: Sequence[str] | None = None,
    input_shape: Sequence[int] | None = None,
    dtype: str | None = None,
) -> Path:
    """Write `module`'s weights (safetensors) and its description (JSON) into `folder`.

    `kwargs` are the JSON constructor arguments that rebuild the module from its class; the
    class is recorded when it can be imported by name. `features` name the columns of a row
    (and imply `input_shape` [len(features)]); `input_shape` is the shape of one row, checked
    before the model runs. `dtype` (default: that of the module's floating-point weights) is
    what inputs are converted to. Returns the folder."""
    th = _torch()
    from safetensors.torch import save_file

    if not isinstance(module, th.nn.Module):
        raise InvalidInput(f"expected a torch.nn.Module, got {type(module).__name__}")
    state = module.state_dict()
    tensors = {}
    for key, value in state.items():
        if not isinstance(value, th.Tensor):
            raise InvalidInput(f"state_dict entry {key!r} is not a tensor: only tensors are saved")
        # A copy of each: safetensors refuses tensors that share memory (tied weights).
        tensors[key] = value.detach().to("cpu").clone().contiguous()
    floating = sorted({str(t.dtype).removeprefix("torch.") for t in tensors.values()
                       if t.is_floating_point()})  # fmt: skip
    chosen = dtype or (floating[0] if len(floating) == 1 else "float32")
    if chosen not in DTYPES:
        raise InvalidInput(f"dtype must be one of {', '.join(DTYPES)}, not {chosen!r}")
    if input_shape is None and features is not None:
        input_shape = [len(features)]
    description = {
        "format": FORMAT,
        "module": _class_path(type(module)),
        "kwargs": dict(kwargs or {}),
        "dtype": chosen,
        "features": list(features) if features is not None else None,
        "input_shape": [int(n) for n in input_shape] if input_shape is not None else None,
    }
    try:
        text = json.dumps(description, indent=2, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"kwargs must be JSON: {exc}") from None
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(target / WEIGHTS), metadata={"format": FORMAT})
    (target / DESCRIPTION).write_text(text + "\n", encoding="utf-8")
    return target


def _resolve(path: Any) -> type:
    """The recorded class, only if it is a subclass of torch.nn.Module; it is not called here."""
    th = _torch()
    if not isinstance(path, str) or not _CLASS_PATH.fullmatch(path):
        raise InvalidInput(
            f"{DESCRIPTION} names no importable module class ({path!r}): pass module= "
            "(an nn.Module or a factory of one) to load the weights into"
        )
    module_name, qualname = path.split(":")
    if any(part.startswith("__") for part in re.split(r"[.:]", path)):  # __main__, __class__
        raise InvalidInput(f"{DESCRIPTION}: {path!r} is not a class name")
    try:
        found: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidInput(
            f"{DESCRIPTION}: cannot import {path!r} ({exc}); pass module= to load the weights into"
        ) from None
    if not (isinstance(found, type) and issubclass(found, th.nn.Module)):
        raise InvalidInput(
            f"{DESCRIPTION}: {path!r} is not a subclass of torch.nn.Module; refusing to call it"
        )
    return found


def _build(given: Any, description: Mapping[str, Any]) -> torch.nn.Module:
    th = _torch()
    if given is None:
        cls = _resolve(description.get("module"))
        kwargs = description.get("kwargs") or {}
        if not isinstance(kwargs, dict):
            raise InvalidInput(f"{DESCRIPTION}: kwargs must be an object")
        module = cls(**kwargs)
    elif isinstance(given, th.nn.Module):
        module = given
    elif callable(given):
        module = given()
    else:
        raise InvalidInput("module= must be a torch.nn.Module or a zero-argument factory of one")
    if not isinstance(module, th.nn.Module):
        raise InvalidInput(f"module= gave a {type(module).__name__}, not a torch.nn.Module")
    return cast("torch.nn.Module", module)


def _describe(folder: Path) -> dict[str, Any]:
    path = folder / DESCRIPTION
    if not path.is_file():
        raise InvalidInput(f"a pytorch version needs {DESCRIPTION} (write it with save())")
    try:
        description = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InvalidInput(f"{DESCRIPTION} is not JSON: {exc}") from None
    if not isinstance(description, dict) or description.get("format") != FORMAT:
        raise InvalidInput(f"{DESCRIPTION} is not a {FORMAT} description")
    if description.get("dtype", "float32") not in DTYPES:
        raise InvalidInput(f"{DESCRIPTION}: dtype must be one of {', '.join(DTYPES)}")
    return description


class TorchModel:
    """A module with its weights loaded, run in eval mode without gradients."""

    def __init__(
        self, module: torch.nn.Module, description: Mapping[str, Any], torch_module: Any
    ) -> None:
        self.module = module
        self._torch = torch_module
        self.dtype = getattr(torch_module, description.get("dtype", "float32"))
        self.features: list[str] | None = description.get("features")
        shape = description.get("input_shape")
        self.input_shape: tuple[int, ...] | None = tuple(shape) if shape is not None else None

    @classmethod
    def load(cls, folder: Path, module: torch.nn.Module | Callable[[], Any] | None) -> TorchModel:
        th = _torch()
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        description = _describe(folder)
        weights = _one(folder, (".safetensors",))
        try:
            state = load_file(str(weights), device="cpu")
        except SafetensorError as exc:
            raise InvalidInput(f"{weights.name} is not a safetensors file: {exc}") from None
        built = _build(module, description)
        try:
            # assign=True keeps the file's tensors (and their dtype) rather than casting them.
            built.load_state_dict(state, strict=True, assign=True)
        except RuntimeError as exc:
            raise InvalidInput(f"the weights do not fit {type(built).__name__}: {exc}") from None
        built.eval()
        return cls(built, description, th)

    def _tensor(self, inputs: Any) -> tuple[torch.Tensor, bool]:
        import numpy as np

        records = isinstance(inputs, Mapping) or (
            isinstance(inputs, list) and bool(inputs) and isinstance(inputs[0], Mapping)
        )
        if records:
            rows, single = _rows(inputs, self.features)
            array = np.asarray(rows, dtype=np.float64)
        else:
            try:
                array = np.asarray(inputs, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise InvalidInput(f"inputs are not numbers in a regular shape: {exc}") from None
            rank = len(self.input_shape) if self.input_shape is not None else 1
            single = array.ndim == rank
            if single:
                array = array[np.newaxis]
        if self.input_shape is not None and tuple(array.shape[1:]) != self.input_shape:
            raise InvalidInput(
                f"each row must have shape {list(self.input_shape)}, got {list(array.shape[1:])}"
            )
        if array.ndim < 2 or array.shape[0] == 0:
            raise InvalidInput("inputs must be one row or a non-empty list of rows")
        return self._torch.from_numpy(array).to(self.dtype), single

    def predict(self, inputs: Any) -> Any:
        batch, single = self._tensor(inputs)
        with self._torch.inference_mode():
            try:
                out = self.module(batch)
            except RuntimeError as exc:  # shapes that do not fit the module, mostly
                raise InvalidInput(f"the model cannot run on these inputs: {exc}") from None
        if not isinstance(out, self._torch.Tensor):
            raise InvalidInput(f"the module returned a {type(out).__name__}, not a tensor")
        if out.dim() == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if out.is_floating_point():
            out = out.to(self._torch.float64)
        values = out.tolist()
        return values[0] if single else values
