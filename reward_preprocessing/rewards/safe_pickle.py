"""A restricted unpickler: read pickled models and trajectories without running code from the file.

Unpickling calls whatever function a file names. This unpickler resolves only the names on an
allow-list (torch tensors and modules, imitation's reward nets and normalization layers, gymnasium
spaces, numpy arrays, dtypes and random generators, imitation trajectories) and refuses every other
name (``os.system``, ``builtins.eval``, ``subprocess.Popen``, ...) before anything is called. Classes on
the list can only be *rebuilt* (``cls.__new__`` plus restoring their attributes), never *called*, so a
file cannot make us run a constructor with arguments of its choosing (``torch.nn.Linear(10**6,
10**6)``); the few functions it may call are wrapped to refuse arguments no honest file has.

Files written under numpy 2 load under numpy 1: ``numpy._core.*`` maps to ``numpy.core.*`` and numpy 2's
bit-generator pickles (a class instead of a name, state plus seed sequence) are rebuilt here.

`torch_load` reads a ``torch.save`` file through this unpickler; `load` reads a plain pickle.
"""

from __future__ import annotations

import _compat_pickle
import collections
import importlib
import io
import os
import pickle
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np

from reward_preprocessing.artifacts import ZIP_ERRORS, is_zip
from reward_preprocessing.errors import ArtifactError, one_line

_TORCH_NN = "torch.nn.modules"

# Classes that may be rebuilt (created with ``cls.__new__`` and given their pickled attributes). Keys are
# module paths as numpy 1 / torch 2 name them; each class must restore its state without side effects.
ALLOWED_CLASSES: dict[str, frozenset[str]] = {
    "collections": frozenset({"OrderedDict"}),
    "builtins": frozenset({"set", "frozenset", "dict", "list", "tuple", "bytearray"}),
    "torch.nn.parameter": frozenset({"Parameter"}),
    f"{_TORCH_NN}.linear": frozenset({"Linear", "Identity", "Bilinear"}),
    f"{_TORCH_NN}.container": frozenset({"Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"}),
    f"{_TORCH_NN}.activation": frozenset(
        {"ReLU", "Tanh", "Sigmoid", "LeakyReLU", "ELU", "GELU", "SiLU", "Softplus", "Mish", "Hardtanh", "ReLU6"}
    ),
    f"{_TORCH_NN}.conv": frozenset({"Conv1d", "Conv2d", "Conv3d"}),
    f"{_TORCH_NN}.pooling": frozenset({"AdaptiveAvgPool2d", "AvgPool2d", "MaxPool2d"}),
    f"{_TORCH_NN}.flatten": frozenset({"Flatten"}),
    f"{_TORCH_NN}.dropout": frozenset({"Dropout"}),
    f"{_TORCH_NN}.normalization": frozenset({"LayerNorm"}),
    f"{_TORCH_NN}.batchnorm": frozenset({"BatchNorm1d", "BatchNorm2d"}),
    "imitation.rewards.reward_nets": frozenset(
        {
            "BasicRewardNet",
            "BasicShapedRewardNet",
            "CnnRewardNet",
            "NormalizedRewardNet",
            "ShapedRewardNet",
            "BasicPotentialMLP",
            "BasicPotentialCNN",
        }
    ),
    "imitation.util.networks": frozenset({"RunningNorm", "EMANorm", "SqueezeLayer"}),
    "imitation.data.types": frozenset({"Trajectory", "TrajectoryWithRew", "Transitions", "TransitionsWithRew"}),
    "gymnasium.spaces.box": frozenset({"Box"}),
    "gymnasium.spaces.discrete": frozenset({"Discrete"}),
    "gymnasium.spaces.multi_discrete": frozenset({"MultiDiscrete"}),
    "gymnasium.spaces.multi_binary": frozenset({"MultiBinary"}),
    "numpy": frozenset({"ndarray", "dtype"}),
    "numpy.random._generator": frozenset({"Generator"}),
    "numpy.random._pcg64": frozenset({"PCG64", "PCG64DXSM"}),
    "numpy.random._mt19937": frozenset({"MT19937"}),
    "numpy.random._philox": frozenset({"Philox"}),
    "numpy.random._sfc64": frozenset({"SFC64"}),
    "numpy.random.bit_generator": frozenset({"SeedSequence"}),
}

_DTYPE_NAMES = frozenset(
    {
        "float16", "float32", "float64", "bfloat16", "int8", "int16", "int32", "int64", "uint8", "bool",
        "complex64", "complex128", "half", "float", "double", "long", "int", "short",
    }
)


def _checked_reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """numpy's array pickles start from an empty array; refuse any other start (a huge allocation)."""
    if subtype is not np.ndarray or np.prod(shape) > 1:
        raise pickle.UnpicklingError("numpy array pickle with an unexpected start")
    return np.core.multiarray._reconstruct(subtype, shape, dtype)  # type: ignore[attr-defined]


def _checked_frombuffer(buf: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """numpy's protocol-5 array pickle (``numpy.core.numeric._frombuffer``): the shape must fit the bytes given."""
    if not isinstance(buf, (bytes, bytearray)) or not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise pickle.UnpicklingError("numpy array pickle (protocol 5) with unexpected arguments")
    if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape) or order not in "CF":
        raise pickle.UnpicklingError("numpy array pickle (protocol 5) with an invalid shape or order")
    if int(np.prod(shape, dtype=object)) * dtype.itemsize != len(buf):
        raise pickle.UnpicklingError("numpy array pickle (protocol 5): shape does not match the data")
    return np.frombuffer(bytes(buf), dtype=dtype).reshape(shape, order=order).copy()


def _checked_encode(text: Any, encoding: str = "utf-8") -> bytes:
    """Protocol-2 pickles store bytes as ``_codecs.encode(str, 'latin1')``; no other codec."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is allowed only for latin1 text")
    return text.encode("latin1")


def _bit_generator_class(spec: Any) -> type:
    from numpy.random._pickle import BitGenerators

    if isinstance(spec, str) and spec in BitGenerators:
        return BitGenerators[spec]
    if isinstance(spec, type) and spec in BitGenerators.values():
        return spec
    raise pickle.UnpicklingError(f"{spec!r} is not a known numpy bit generator")


class PickledBitGenerator:
    """A bit generator as pickled by numpy 1 or 2, turned into numpy's own when its state is known.

    numpy 2 pickles ``(state, seed_sequence)`` where numpy 1 pickles ``state``; numpy 1 cannot read the
    former, so the state is collected here and set on a fresh bit generator of the named class.
    """

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.state: dict[str, Any] | None = None

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2:
            state = state[0]
        if not isinstance(state, dict):
            raise pickle.UnpicklingError("bit generator state is not a dict")
        self.state = state

    def build(self) -> Any:
        bit_generator = self.cls()
        if self.state is not None:
            bit_generator.state = self.state
        return bit_generator


def _bit_generator_ctor(spec: Any = "MT19937") -> PickledBitGenerator:
    return PickledBitGenerator(_bit_generator_class(spec))


def _generator_ctor(spec: Any = "MT19937", bit_generator_ctor: Any = None) -> np.random.Generator:
    """numpy 1 passes a name (state follows via ``Generator.__setstate__``), numpy 2 a built bit generator."""
    if isinstance(spec, PickledBitGenerator):
        return np.random.Generator(spec.build())
    return np.random.Generator(_bit_generator_class(spec)())


def _randomstate_ctor(spec: Any = "MT19937", bit_generator_ctor: Any = None) -> np.random.RandomState:
    if isinstance(spec, PickledBitGenerator):
        return np.random.RandomState(spec.build())
    return np.random.RandomState(_bit_generator_class(spec)())


class PickledSeedSequence:
    """numpy 2's Cython pickle of a `SeedSequence` (a checksum numpy 1 rejects); rebuilt from its fields."""

    def __setstate__(self, state: Any) -> None:
        self.fields = state


def _unpickle_seed_sequence(cls: Any, checksum: Any, state: Any) -> PickledSeedSequence:
    return PickledSeedSequence()


def _rebuild_parameter(data: Any, requires_grad: Any, backward_hooks: Any, *rest: Any) -> Any:
    """torch's own rebuild, refusing backward hooks (callables that would run on every backward pass)."""
    import torch._utils

    if backward_hooks:
        raise pickle.UnpicklingError("parameters with backward hooks are not accepted")
    return torch._utils._rebuild_parameter(data, bool(requires_grad), collections.OrderedDict())


def _torch_rebuild(name: str) -> Callable[..., Any]:
    import torch._utils

    return getattr(torch._utils, name)


# Functions a pickle may call, as (module, name) -> factory of the callable actually used.
_ALLOWED_CALLS: dict[tuple[str, str], Callable[[], Callable[..., Any]]] = {
    ("numpy.core.multiarray", "_reconstruct"): lambda: _checked_reconstruct,
    ("numpy.core.numeric", "_frombuffer"): lambda: _checked_frombuffer,
    ("numpy.core.multiarray", "scalar"): lambda: np.core.multiarray.scalar,  # type: ignore[attr-defined]
    ("numpy", "dtype"): lambda: np.dtype,
    ("_codecs", "encode"): lambda: _checked_encode,
    ("numpy.random._pickle", "__bit_generator_ctor"): lambda: _bit_generator_ctor,
    ("numpy.random._pickle", "__generator_ctor"): lambda: _generator_ctor,
    ("numpy.random._pickle", "__randomstate_ctor"): lambda: _randomstate_ctor,
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"): lambda: _unpickle_seed_sequence,
    ("torch._utils", "_rebuild_tensor_v2"): lambda: _torch_rebuild("_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_tensor"): lambda: _torch_rebuild("_rebuild_tensor"),
    ("torch._utils", "_rebuild_parameter"): lambda: _rebuild_parameter,
    ("collections", "OrderedDict"): lambda: collections.OrderedDict,
    ("builtins", "set"): lambda: set,
    ("builtins", "frozenset"): lambda: frozenset,
    ("builtins", "bytearray"): lambda: bytearray,
    ("torch", "Size"): lambda: _torch_size,
}


def _torch_size(*args: Any) -> Any:
    import torch

    return torch.Size(*args)


def canonical_module(module: str) -> str:
    """numpy 2 moved ``numpy.core`` to ``numpy._core``; torch moved ``torch.tensor`` to ``torch._tensor``."""
    if module == "numpy._core" or module.startswith("numpy._core."):
        return "numpy.core" + module[len("numpy._core"):]
    return module


class _Callable:
    """An allowed function; only these may be called by REDUCE, never a class."""

    def __init__(self, module: str, name: str, fn: Callable[..., Any]) -> None:
        self.where = f"{module}.{name}"
        self.fn = fn

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args)


class RestrictedUnpickler(pickle._Unpickler):  # type: ignore[name-defined,misc]
    """A pure-Python unpickler that resolves only allow-listed names and calls only allow-listed functions.

    The pure-Python implementation is used because its opcode table can be narrowed: REDUCE may call
    only an allowed function, and the protocol-0/1 opcodes that call a class (INST, OBJ) are refused.
    """

    dispatch: ClassVar[dict[int, Any]] = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]

    def find_class(self, module: str, name: str) -> Any:
        if self.proto < 3 and self.fix_imports:  # Python 2 names, as pickle.Unpickler maps them
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        if not isinstance(module, str) or not isinstance(name, str):
            raise pickle.UnpicklingError("malformed pickle: a global name is not text")
        module = canonical_module(module)
        where = f"{module}.{name}"
        if not isinstance(name, str) or "." in name:
            raise pickle.UnpicklingError(f"refusing to load {where}: dotted names are not allowed")
        if (module, name) in _ALLOWED_CALLS:
            return _Callable(module, name, _ALLOWED_CALLS[(module, name)]())
        if module == "torch" and name in _DTYPE_NAMES:
            import torch

            return getattr(torch, name)
        if name in ALLOWED_CLASSES.get(module, ()):
            obj = getattr(importlib.import_module(module), name)
            if not isinstance(obj, type):
                raise pickle.UnpicklingError(f"refusing to load {where}: not a class")
            return obj
        raise pickle.UnpicklingError(f"refusing to load {where}: not on the allow-list of model and data classes")

    def load_reduce(self) -> None:
        args = self.stack.pop()
        func = self.stack[-1]
        if not isinstance(func, _Callable):
            raise pickle.UnpicklingError(f"refusing to call {getattr(func, '__name__', type(func).__name__)}")
        if not isinstance(args, tuple):
            raise pickle.UnpicklingError("malformed pickle: REDUCE arguments are not a tuple")
        self.stack[-1] = func(*args)

    dispatch[pickle.REDUCE[0]] = load_reduce

    def load_newobj(self) -> None:
        args = self.stack.pop()
        cls = self.stack.pop()
        self.stack.append(_new(cls, args))

    dispatch[pickle.NEWOBJ[0]] = load_newobj

    def load_newobj_ex(self) -> None:
        kwargs = self.stack.pop()
        args = self.stack.pop()
        cls = self.stack.pop()
        if kwargs:
            raise pickle.UnpicklingError("refusing NEWOBJ_EX with keyword arguments")
        self.stack.append(_new(cls, args))

    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex

    def _refuse(self) -> None:
        raise pickle.UnpicklingError("refusing a protocol 0/1 instance opcode (it calls a class)")

    dispatch[pickle.INST[0]] = _refuse
    dispatch[pickle.OBJ[0]] = _refuse

    def load_build(self) -> None:
        state = self.stack[-1]
        inst = self.stack[-2]
        if isinstance(inst, _Callable):
            raise pickle.UnpicklingError("malformed pickle: BUILD on a function")
        if isinstance(inst, np.dtype):
            _check_dtype_state(state)
        super().load_build()
        del state

    dispatch[pickle.BUILD[0]] = load_build


_BYTE_ORDERS = frozenset({"<", ">", "|", "="})


def _check_dtype_state(state: Any) -> None:
    """Refuse all but a plain (non-structured) dtype's state ``(version, byte order, None, None, None, elsize,
    alignment, flags[, metadata dict])``: numpy's ``dtype.__setstate__`` fails on some malformed states
    without setting an exception (a SystemError), and reward nets pickle no structured dtypes."""
    plain = (
        isinstance(state, tuple) and len(state) in (8, 9)
        and all(type(v) is int for v in (state[0], *state[5:8]))
        and isinstance(state[1], str) and state[1] in _BYTE_ORDERS
        and all(v is None for v in state[2:5])
        and (len(state) == 8 or state[8] is None or type(state[8]) is dict)
    )
    if not plain:
        raise pickle.UnpicklingError("malformed pickle: not the state of a plain numpy dtype")


def _new(cls: Any, args: Any) -> Any:
    """``cls.__new__(cls, *args)`` for an allowed class; containers and numpy types take no arguments here."""
    if isinstance(cls, _Callable) or not isinstance(cls, type):
        raise pickle.UnpicklingError("malformed pickle: NEWOBJ of a non-class")
    if not isinstance(args, tuple):
        raise pickle.UnpicklingError("malformed pickle: NEWOBJ arguments are not a tuple")
    if args and not issubclass(cls, (tuple, frozenset)):
        # torch.Size and frozenset need their items; nothing else we allow takes __new__ arguments.
        raise pickle.UnpicklingError(f"refusing to create {cls.__name__} with arguments")
    return cls.__new__(cls, *args)


def load(file: IO[bytes], **kwargs: Any) -> Any:
    """`pickle.load` through the allow-list (also the ``pickle_module.load`` that torch calls)."""
    return RestrictedUnpickler(file, **kwargs).load()


Unpickler = RestrictedUnpickler


def loads(data: bytes) -> Any:
    return load(io.BytesIO(data))


def load_pickle_file(path: str | os.PathLike) -> Any:
    """Unpickle a plain pickle file through the allow-list; any failure is an `ArtifactError` naming the file."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return load(f)
    except FileNotFoundError as e:
        raise ArtifactError(f"{path}: missing") from e
    except _LOAD_ERRORS as e:
        raise ArtifactError(f"{path}: cannot unpickle safely ({_short(e)})") from e


_LOAD_ERRORS = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    AssertionError,
    RuntimeError,
    RecursionError,
    MemoryError,
    OverflowError,
    UnicodeDecodeError,
    NotImplementedError,
    zipfile.BadZipFile,
    OSError,
    struct.error,  # a truncated LONG4 / BINFLOAT / BININT argument (the Python unpickler reads it with struct)
)


def _short(error: BaseException) -> str:
    text = one_line(error)
    return f"{type(error).__name__}: {text[:300]}" if text else type(error).__name__


def _check_torch_zip(file: Path | IO[bytes], size: int, where: str | None = None) -> None:
    """Accept only the zip layout `torch.save` writes, with stored (uncompressed) records.

    The legacy tar/raw layouts run extra unpickling passes, and a compressed record could expand far
    beyond the `size` of the file.
    """
    name = where or str(file)
    if not is_zip(file):
        raise ArtifactError(f"{name}: not a torch.save zip file (legacy or foreign format); re-save it with torch.save")
    try:
        with zipfile.ZipFile(file) as z:
            infos = z.infolist()
    except ZIP_ERRORS as e:
        raise ArtifactError(f"{name}: corrupt zip file ({_short(e)})") from e
    if not any(i.filename.endswith("/data.pkl") for i in infos):
        raise ArtifactError(f"{name}: not a torch.save file (no data.pkl)")
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED or info.file_size > size:
            raise ArtifactError(f"{name}: {info.filename} is compressed or larger than the file; not a torch.save file")


def torch_load(path: str | os.PathLike) -> Any:
    """Load a ``torch.save`` file onto the CPU through the allow-list; failures are `ArtifactError`s."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path}: missing or not a file")
    _check_torch_zip(path, path.stat().st_size)
    module = _TorchPickleModule()
    try:
        return torch.load(path, map_location="cpu", pickle_module=module, weights_only=False, mmap=False)
    except _LOAD_ERRORS as e:
        raise ArtifactError(f"{path}: cannot unpickle safely ({_short(e)})") from e


def torch_load_bytes(data: bytes, where: str) -> Any:
    """`torch_load` of a ``torch.save`` file held in memory (a member of another archive), named `where`."""
    import torch

    _check_torch_zip(io.BytesIO(data), len(data), where)
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", pickle_module=_TorchPickleModule(),
                          weights_only=False, mmap=False)
    except _LOAD_ERRORS as e:
        raise ArtifactError(f"{where}: cannot unpickle safely ({_short(e)})") from e


class _TorchPickleModule:
    """What `torch.load` needs of a ``pickle_module``: a name, ``Unpickler`` and ``load``."""

    __name__ = "reward_preprocessing.rewards.safe_pickle"
    Unpickler = RestrictedUnpickler
    load = staticmethod(load)
    __version__ = "1"
