"""Property-based fuzzing of every loader: malformed input gives a one-line project error, nothing else.

Each example feeds one malformed input to a loader and accepts exactly two outcomes: the loader returns
(and then what it returns is exactly what the file holds), or it raises `UserError` (`ArtifactError` is
one). Any other exception (a dependency's traceback), a hang (a per-example alarm) or an allocation the
file does not justify (the address space is capped a few GiB above what the process uses) fails the test.

The sum of ``max_examples`` below is the number of malformed inputs per run (printed at the end with -s).
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import pickle
import resource
import shutil
import signal
import struct
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch as th
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file

from reward_preprocessing.artifacts import is_zip
from reward_preprocessing.data.procgen_npz import open_procgen_npz
from reward_preprocessing.data.trajectory_files import load_trajectories, save_trajectories_npz
from reward_preprocessing.errors import ArtifactError, UserError
from reward_preprocessing.rewards.imitation_import import convert_reward_net, import_imitation_reward_net
from reward_preprocessing.rewards.io import MODEL_FILE, SPEC_FILE, load_reward_net, save_reward_net
from reward_preprocessing.rewards.safe_pickle import torch_load
from reward_preprocessing.settings import from_mapping
from tests.data import make_imitation_fixtures as fixtures

OUTCOMES: collections.Counter[str] = collections.Counter()
PLANNED: list[int] = []


def fuzz(max_examples: int) -> settings:
    """Hypothesis settings of one fuzz test; the planned counts add up to the per-run total."""
    PLANNED.append(max_examples)
    return settings(max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck),
                    database=None)
EXTRA_MEMORY = 3 << 30  # bytes of address space an example may add; the files here are kilobytes
SECONDS = 20


def _vm_size() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Cap the address space (a huge allocation becomes MemoryError, which fails) and the time of one example."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _vm_size() + EXTRA_MEMORY
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))

    def timeout(signum, frame):
        raise TimeoutError(f"example ran over {SECONDS} s")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def outcome(loader: str, call: Callable[[], object]) -> object | None:
    """Run one example: return the loaded value, or None after a `UserError`; anything else propagates."""
    with guarded():
        try:
            value = call()
        except UserError as e:
            assert "\n" not in str(e).strip(), f"multi-line error: {e}"
            OUTCOMES[f"{loader}: project error"] += 1
            return None
    OUTCOMES[f"{loader}: loaded"] += 1
    return value


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    total = sum(OUTCOMES.values())
    print(f"\nfuzzed {total} malformed inputs (planned max_examples: {sum(PLANNED)}):")
    for key, count in sorted(OUTCOMES.items()):
        print(f"  {key}: {count}")


# --- Model directories, spec.json and model.safetensors -----------------------------------------------------


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """One valid model directory per class family: tabular, MLP, shaped/preprocessed, imported imitation."""
    from reward_preprocessing.rewards.ground_truth import maze_reward_net
    from reward_preprocessing.rewards.mlp import MlpRewardNet
    from reward_preprocessing.rewards.mountain_car import mountain_car_reward_net
    from reward_preprocessing.rewards.potentials import build_potential
    from reward_preprocessing.rewards.shaped import PreprocessedRewardNet

    root = tmp_path_factory.mktemp("models")
    out = {}
    tabular, kwargs = maze_reward_net("maze4", "goal", "dense")
    save_reward_net(tabular, root / "tabular", fixtures.MAZE, kwargs)
    out["tabular"] = root / "tabular"
    car, kwargs = mountain_car_reward_net("dense")
    mlp = MlpRewardNet(car.observation_space, car.action_space, hid_sizes=(8,))
    save_reward_net(mlp, root / "mlp", fixtures.MOUNTAIN_CAR, kwargs)
    out["mlp"] = root / "mlp"
    potential = build_potential({"kind": "mlp", "kwargs": {"obs_dim": 2, "hidden_sizes": [4]}})
    shaped = PreprocessedRewardNet.from_parts(mlp, potential, 0.99, 0.5)
    save_reward_net(shaped, root / "shaped", fixtures.MOUNTAIN_CAR, kwargs)
    out["shaped"] = root / "shaped"
    pts = tmp_path_factory.mktemp("pts")
    envs = fixtures.write_fixtures(pts, n=8)
    import_imitation_reward_net(pts / "mountain_car_shaped.pt", root / "imitation", envs["mountain_car_shaped"],
                                trust_pickle=True, n_samples=8)
    out["imitation"] = root / "imitation"
    out["pt_dir"] = pts
    return out


def _load_exactly(directory: Path) -> object | None:
    net = outcome("model directory", lambda: load_reward_net(directory))
    if net is not None:
        stored = load_file(str(directory / MODEL_FILE))
        state = net.state_dict()
        assert set(state) == set(stored)
        for key, tensor in stored.items():  # never silently different from its file: same dtype, same bits
            assert state[key].dtype == tensor.dtype and th.equal(state[key], tensor), key
    return net


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
    | st.sampled_from(["Box", "Discrete", "TabularRewardNet", "MlpRewardNet", "float64", "uint8", "mlp",
                       "Linear", "RunningNorm", "BasicRewardNet", "ShapedRewardNet", "NormalizedRewardNet"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
big_ints = st.sampled_from([0, -1, 1, 3, 12_000, 30_000, 2**31, 2**40, 10**30])


def _paths(tree: object, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(tree, dict):
        for k, v in tree.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            found += _paths(v, (*prefix, i))
    return found


def _mutate(tree: object, path: tuple, action: str, value: object) -> object:
    if not path:
        return value
    head, *rest = path
    copy = dict(tree) if isinstance(tree, dict) else list(tree)
    if rest:
        copy[head] = _mutate(copy[head], tuple(rest), action, value)
    elif action == "delete":
        del copy[head]
    else:
        copy[head] = value
    return copy


@fuzz(320)
@given(data=st.data(), kind=st.sampled_from(["tabular", "mlp", "shaped", "imitation"]))
def test_fuzz_spec_json(models, tmp_path_factory, data, kind):
    source = models[kind]
    spec = json.loads((source / SPEC_FILE).read_text())
    n_mutations = data.draw(st.integers(1, 3))
    for _ in range(n_mutations):
        path = data.draw(st.sampled_from(_paths(spec)))
        action = data.draw(st.sampled_from(["replace", "replace_int", "delete"]))
        if action == "delete" and not path:
            action = "replace"
        value = data.draw(big_ints if action == "replace_int" else json_values)
        spec = _mutate(spec, path, action, value)
    directory = tmp_path_factory.mktemp("spec")
    shutil.copy(source / MODEL_FILE, directory / MODEL_FILE)
    (directory / SPEC_FILE).write_text(json.dumps(spec))
    _load_exactly(directory)


def _header(path: Path) -> tuple[dict, bytes]:
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def _write_safetensors(path: Path, header: object, data: bytes) -> None:
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + data)


@fuzz(200)
@given(data=st.data(), kind=st.sampled_from(["tabular", "mlp", "shaped", "imitation"]),
       mode=st.sampled_from(["bytes", "header", "dtype"]))
def test_fuzz_safetensors(models, tmp_path_factory, data, kind, mode):
    source = models[kind]
    directory = tmp_path_factory.mktemp("weights")
    shutil.copy(source / SPEC_FILE, directory / SPEC_FILE)
    raw = (source / MODEL_FILE).read_bytes()
    target = directory / MODEL_FILE
    if mode == "bytes":
        raw = bytearray(raw)
        for _ in range(data.draw(st.integers(1, 4))):
            op = data.draw(st.sampled_from(["flip", "truncate", "insert"]))
            pos = data.draw(st.integers(0, max(len(raw) - 1, 0)))
            if op == "flip" and raw:
                raw[pos] ^= data.draw(st.integers(1, 255))
            elif op == "truncate":
                raw = raw[:pos]
            else:
                raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=16))
        target.write_bytes(bytes(raw))
    else:
        header, payload = _header(source / MODEL_FILE)
        names = [k for k in header if k != "__metadata__"]
        name = data.draw(st.sampled_from(names))
        if mode == "dtype":  # e.g. float64 weights next to a spec that builds float32: must never narrow
            header[name]["dtype"] = data.draw(st.sampled_from(["F32", "F64", "F16", "I64", "U8", "BOOL", "X9"]))
        else:
            path = data.draw(st.sampled_from(_paths(header[name])))
            header[name] = _mutate(header[name], path, "replace", data.draw(big_ints | json_values))
        _write_safetensors(target, header, payload)
    _load_exactly(directory)


def test_huge_spec_is_refused_without_allocating(models, tmp_path):
    """The issue's case: a 412-byte spec claiming 12,000 (or 30,000) states next to small weights."""
    for n in (12_000, 30_000, 10**9):
        spec = json.loads((models["tabular"] / SPEC_FILE).read_text())
        spec["observation_space"]["n"] = n
        shutil.copy(models["tabular"] / MODEL_FILE, tmp_path / MODEL_FILE)
        (tmp_path / SPEC_FILE).write_text(json.dumps(spec))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert outcome("model directory", lambda: load_reward_net(tmp_path)) is None
        assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB


def test_float64_weights_under_a_float32_spec_are_refused(models, tmp_path):
    shutil.copytree(models["tabular"], tmp_path / "m")
    spec = json.loads((tmp_path / "m" / SPEC_FILE).read_text())
    assert spec["kwargs"]["dtype"] == "float64"
    spec["kwargs"]["dtype"] = "float32"
    (tmp_path / "m" / SPEC_FILE).write_text(json.dumps(spec))
    with pytest.raises(UserError, match="do not match"):
        load_reward_net(tmp_path / "m")


@fuzz(40)
@given(layout=st.sampled_from(["no_spec", "no_weights", "spec_dir", "weights_dir", "empty", "file", "missing",
                               "binary_spec", "deep_json", "huge_number", "not_object", "symlink_loop"]))
def test_fuzz_model_directory_layout(models, tmp_path_factory, layout):
    root = tmp_path_factory.mktemp("layout")
    directory = root / "model"
    shutil.copytree(models["mlp"], directory)
    spec, weights = directory / SPEC_FILE, directory / MODEL_FILE
    if layout == "no_spec":
        spec.unlink()
    elif layout == "no_weights":
        weights.unlink()
    elif layout == "spec_dir":
        spec.unlink()
        spec.mkdir()
    elif layout == "weights_dir":
        weights.unlink()
        weights.mkdir()
    elif layout == "empty":
        spec.write_text("")
    elif layout == "file":
        directory = weights
    elif layout == "missing":
        directory = root / "nothing"
    elif layout == "binary_spec":
        spec.write_bytes(b"\xff\xfe\x00{")
    elif layout == "deep_json":
        spec.write_text("[" * 100_000 + "]" * 100_000)
    elif layout == "huge_number":
        spec.write_text('{"class": "MlpRewardNet", "format_version": ' + "9" * 5000 + "}")
    elif layout == "not_object":
        spec.write_text("[1, 2]")
    elif layout == "symlink_loop":
        spec.unlink()
        spec.symlink_to(spec)
    assert outcome("model directory", lambda: load_reward_net(directory)) is None


# --- .pt import -----------------------------------------------------------------------------------------------


def _mutate_zip_member(raw: bytes, member_suffix: str, mutate: Callable[[bytes], bytes]) -> bytes:
    """Rewrite one member of a torch.save zip (keeping the layout torch expects)."""
    src = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            content = src.read(info)
            if info.filename.endswith(member_suffix):
                content = mutate(content)
            dst.writestr(info, content)
    return out.getvalue()


@fuzz(180)
@given(data=st.data(), name=st.sampled_from(["mountain_car_basic", "mountain_car_shaped", "mountain_car_normalized",
                                             "maze_basic"]),
       mode=st.sampled_from(["file_bytes", "pickle_bytes", "pickle_ops", "storage_bytes"]))
def test_fuzz_pt_import(models, tmp_path_factory, data, name, mode):
    raw = (models["pt_dir"] / f"{name}.pt").read_bytes()
    if mode == "file_bytes":
        buf = bytearray(raw)
        for _ in range(data.draw(st.integers(1, 6))):
            pos = data.draw(st.integers(0, len(buf) - 1))
            buf[pos] ^= data.draw(st.integers(1, 255))
        if data.draw(st.booleans()):
            buf = buf[: data.draw(st.integers(0, len(buf)))]
        raw = bytes(buf)
    elif mode == "pickle_bytes":
        def flip(content: bytes) -> bytes:
            buf = bytearray(content)
            for _ in range(data.draw(st.integers(1, 4))):
                pos = data.draw(st.integers(0, len(buf) - 1))
                buf[pos] = data.draw(st.integers(0, 255))
            return bytes(buf)
        raw = _mutate_zip_member(raw, "data.pkl", flip)
    elif mode == "pickle_ops":  # splice well-formed opcodes (other globals, huge sizes) into the pickle
        def splice(content: bytes) -> bytes:
            insert = data.draw(st.sampled_from([
                b"cos\nsystem\n", b"cbuiltins\neval\n", b"ctorch.nn.modules.linear\nLinear\nJ\x00\xe1\xf5\x05\x85R",
                b"cnumpy.core.multiarray\n_reconstruct\n", b"\x8a\x08" + b"\xff" * 8, b"(J\xff\xff\xff\x7f\x85",
                b"ctorch\nFloatStorage\n", b"cbuiltins\ngetattr\n", b"}", b"(", b"R", b"b", b".",
            ]))
            pos = data.draw(st.integers(0, len(content)))
            return content[:pos] + insert + content[pos:]
        raw = _mutate_zip_member(raw, "data.pkl", splice)
    else:  # the tensor storages: shorter, longer or different than the pickle says
        def resize(content: bytes) -> bytes:
            return content[: data.draw(st.integers(0, len(content)))] + data.draw(st.binary(max_size=16))
        member = data.draw(st.sampled_from(["data/0", "data/1", "data/2"]))
        raw = _mutate_zip_member(raw, member, resize)
    path = tmp_path_factory.mktemp("pt") / "model.pt"
    path.write_bytes(raw)
    net = outcome(".pt import", lambda: convert_reward_net(torch_load(path)))
    if net is not None:
        # a file that still loads is what the original writer saved, or its bytes say so: the rebuilt net holds
        # exactly the loaded tensors
        original = torch_load(path)
        for key, value in original.state_dict().items():
            assert th.equal(net.net.state_dict()[key], value)


# --- A user's stable-baselines3 policy zip ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sb3_zip(tmp_path_factory) -> Path:
    from tests.data.make_sb3_policy import write_policy

    path = tmp_path_factory.mktemp("sb3") / "ppo.zip"
    write_policy(path, "ppo", steps=64)
    return path


def _zip_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@fuzz(80)
@given(data=st.data(), mode=st.sampled_from(["zip_bytes", "data_json", "weights_bytes"]))
def test_fuzz_sb3_policy_zip(sb3_zip, tmp_path_factory, data, mode):
    """A damaged zip (its bytes, its ``data`` JSON, its ``policy.pth``) loads or fails with one project line."""
    import gymnasium as gym

    from reward_preprocessing.experts.sb3_policy import load_sb3_policy

    path = tmp_path_factory.mktemp("sb3_fuzz") / "policy.zip"
    members = _zip_members(sb3_zip)
    if mode == "zip_bytes":
        raw = bytearray(sb3_zip.read_bytes())
        for _ in range(data.draw(st.integers(1, 8))):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
        path.write_bytes(bytes(raw))
    else:
        key = "data" if mode == "data_json" else "policy.pth"
        content = bytearray(members[key])
        for _ in range(data.draw(st.integers(1, 8))):
            content[data.draw(st.integers(0, len(content) - 1))] = data.draw(st.integers(0, 255))
        members[key] = bytes(content)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, member in members.items():
                archive.writestr(name, member)
    env = gym.make(fixtures.MOUNTAIN_CAR)
    policy = outcome("sb3 policy zip", lambda: load_sb3_policy(path, env.observation_space, env.action_space,
                                                               trust_pickle=True))
    if policy is not None:
        actions, _ = policy.predict(np.zeros((4, 2), np.float32), deterministic=True)
        assert set(np.asarray(actions).tolist()) <= {0, 1, 2}


# --- Trajectories ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trajectory_files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("trajectories")
    trajectories = fixtures.rollouts(n_episodes=3, steps=10)
    save_trajectories_npz(root / "t.npz", trajectories)
    (root / "t.pkl").write_bytes(pickle.dumps(trajectories, protocol=2))
    return {"npz": root / "t.npz", "pkl": root / "t.pkl"}


def _check_trajectories(value: object) -> None:
    if value is not None:
        for t in value:
            assert len(t.obs) == len(t.acts) + 1 == len(t.rews) + 1 and np.all(np.isfinite(t.rews))


@fuzz(150)
@given(data=st.data(), mode=st.sampled_from(["bytes", "arrays"]))
def test_fuzz_npz_trajectories(trajectory_files, tmp_path_factory, data, mode):
    path = tmp_path_factory.mktemp("npz") / "t.npz"
    if mode == "bytes":
        buf = bytearray(trajectory_files["npz"].read_bytes())
        for _ in range(data.draw(st.integers(1, 5))):
            pos = data.draw(st.integers(0, len(buf) - 1))
            buf[pos] ^= data.draw(st.integers(1, 255))
        path.write_bytes(bytes(buf))
    else:
        with np.load(trajectory_files["npz"]) as z:
            arrays = {k: z[k] for k in z.files}
        key = data.draw(st.sampled_from([*arrays, "extra"]))
        arrays[key] = data.draw(st.sampled_from([
            np.zeros(0), np.zeros((3, 0)), np.array([5, 2, 9]), np.array([-1]), np.array([1e300, np.nan]),
            np.array(["a", "b"]), np.ones((2, 2, 2)), np.array([True]), np.arange(100), np.array(7),
        ]))
        if data.draw(st.booleans()):
            arrays.pop(data.draw(st.sampled_from(sorted(arrays))))
        np.savez(path, **arrays)
    _check_trajectories(outcome("trajectories .npz", lambda: load_trajectories(path)))


@fuzz(120)
@given(data=st.data(), trust=st.booleans())
def test_fuzz_pickled_trajectories(trajectory_files, tmp_path_factory, data, trust):
    buf = bytearray(trajectory_files["pkl"].read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(buf) - 1))
        buf[pos] = data.draw(st.integers(0, 255))
    path = tmp_path_factory.mktemp("pkl") / "t.pkl"
    path.write_bytes(bytes(buf))
    _check_trajectories(outcome("trajectories .pkl", lambda: load_trajectories(path, trust_pickle=trust)))


@pytest.fixture(scope="module")
def procgen_npz_files(tmp_path_factory) -> dict[bool, Path]:
    """One train-procgen trajectory of 4 steps, stored (frames read in place) and compressed (frames streamed)."""
    root = tmp_path_factory.mktemp("procgen_npz")
    arrays = {"obs": np.random.default_rng(0).integers(0, 256, (5, 64, 64, 3), dtype=np.uint8),
              "acts": np.zeros(4, np.int8), "rews": np.zeros(4, np.float32), "terminal": np.array([True]),
              "indices": np.zeros(0, np.int64)}
    np.savez(root / "stored.npz", **arrays)
    np.savez_compressed(root / "compressed.npz", **arrays)
    return {False: root / "stored.npz", True: root / "compressed.npz"}


@fuzz(150)
@given(data=st.data(), compressed=st.booleans())
def test_fuzz_procgen_npz(procgen_npz_files, tmp_path_factory, data, compressed):
    """A damaged train-procgen .npz opens, with frames that read, or fails with one project line (the zip
    directory, the .npy headers and the deflate streams all used to let their own exceptions out)."""
    buf = bytearray(procgen_npz_files[compressed].read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        buf[data.draw(st.integers(0, len(buf) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        buf = buf[: data.draw(st.integers(0, len(buf)))]
    path = tmp_path_factory.mktemp("procgen_npz_fuzz") / "t.npz"
    path.write_bytes(bytes(buf))
    rollouts = outcome("procgen .npz", lambda: open_procgen_npz(path, tmp_dir=path.parent))
    if rollouts is not None:
        obs, next_obs = rollouts.transitions(np.arange(len(rollouts)))
        assert obs.shape == next_obs.shape == (len(rollouts), 64, 64, 3) and obs.dtype == np.uint8


@fuzz(20)
@given(data=st.data())
def test_fuzz_rollout_directory(tmp_path_factory, data):
    """imitation's HuggingFace dataset directory with one file damaged."""
    from reward_preprocessing.data.rollouts import save_rollouts

    root = tmp_path_factory.mktemp("hf")
    save_rollouts(root / "r", fixtures.rollouts(n_episodes=2, steps=5), fixtures.MOUNTAIN_CAR, {})
    files = sorted(p for p in (root / "r").rglob("*") if p.is_file())
    victim = data.draw(st.sampled_from(files))
    action = data.draw(st.sampled_from(["delete", "truncate", "garbage"]))
    if action == "delete":
        victim.unlink()
    elif action == "truncate":
        victim.write_bytes(victim.read_bytes()[: data.draw(st.integers(0, max(victim.stat().st_size - 1, 0)))])
    else:
        victim.write_bytes(data.draw(st.binary(min_size=1, max_size=64)))
    _check_trajectories(outcome("trajectories directory", lambda: load_trajectories(root / "r")))


# --- Config files and settings ----------------------------------------------------------------------------------


def _validate_config(cfg: object) -> None:
    """What workflow/rules/common.smk does with a config: schema check, one line naming the bad key."""
    import jsonschema

    schema = yaml.safe_load((Path(__file__).parents[1] / "workflow/schemas/config.schema.yaml").read_text())
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(cfg))
    if error is not None:
        raise UserError(f"invalid config at {'.'.join(map(str, error.absolute_path)) or '(top level)'}: "
                        f"{error.message.splitlines()[0][:200]}")


@fuzz(120)
@given(data=st.data(), mode=st.sampled_from(["tree", "text"]))
def test_fuzz_config_file(tmp_path_factory, data, mode):
    text = (Path(__file__).parents[1] / "config/config.yaml").read_text()
    if mode == "text":
        pos = data.draw(st.integers(0, len(text)))
        text = text[:pos] + data.draw(st.text(alphabet=":-[]{}&*!|>'\"%@ \n\tab0", max_size=6)) + text[pos + 1:]
    else:
        cfg = yaml.safe_load(text)
        path = data.draw(st.sampled_from(_paths(cfg)))
        cfg = _mutate(cfg, path, data.draw(st.sampled_from(["replace", "delete"])) if path else "replace",
                      data.draw(json_values | big_ints))
        text = yaml.safe_dump(cfg)

    def load() -> object:
        try:
            cfg = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise UserError(f"config is not valid YAML: {str(e).splitlines()[0]}") from e
        _validate_config(cfg)
        return cfg

    outcome("config file", load)


@fuzz(60)
@given(mapping=st.dictionaries(st.sampled_from(["kind", "labels", "hidden_sizes", "epochs", "batch_size", "lr",
                                                "test_fraction", "seed", "device", "bogus"]),
                               json_values | big_ints, max_size=4))
def test_fuzz_settings_document(mapping):
    from reward_preprocessing.training.supervised import RewardModelSettings

    outcome("settings", lambda: from_mapping(RewardModelSettings, mapping, "reward_model"))


# --- Command-line arguments -------------------------------------------------------------------------------------


def _script_main(name: str) -> Callable[[list[str]], None]:
    import importlib.util

    path = Path(__file__).parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"fuzz_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@fuzz(100)
@given(data=st.data(), script=st.sampled_from(["import_reward_net", "convert_trajectories", "env_ground_truth",
                                               "plot_model_heatmap"]))
def test_fuzz_cli_arguments(models, tmp_path_factory, capsys, data, script):
    from reward_preprocessing.cli import run

    out = tmp_path_factory.mktemp("cli") / "out"
    words = st.sampled_from(["--env", "--env-id", "--out", str(out), "--trust-pickle", "--env-kwargs", "--settings",
                             "--runs", "--samples", "maze4", "goal", "dense", '{"maze": "maze4", "name": "x"}',
                             "nan", "-1", "1e309", "{", "{\"a\": 1}", "[]", fixtures.MOUNTAIN_CAR,
                             str(models["pt_dir"] / "maze_basic.pt"), str(models["mlp"]), "\x00", ""])
    argv = data.draw(st.lists(words | st.text(max_size=8), max_size=8))
    main = _script_main(script)
    with guarded(), pytest.raises(SystemExit) as exit_info:
        run(main, argv)
        raise SystemExit(0)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:") or ": error:" in line]
    assert exit_info.value.code in (0, 2) and (exit_info.value.code == 0 or len(errors) == 1), err
    OUTCOMES[f"cli {script}: exit {exit_info.value.code}"] += 1


# A zip64 end locator claiming two disks, then an empty end record.
MULTI_DISK_END = struct.pack("<4sLQL", b"PK\x06\x07", 0, 0, 2) + struct.pack("<4s4H2LH", b"PK\x05\x06", *[0] * 7)


def test_a_zip_claiming_several_disks_is_one_artifact_error_in_every_loader(tmp_path):
    """Found by the SB3 zip fuzzing: ``zipfile.is_zipfile`` raises BadZipFile on this end record instead of
    answering, and each loader that asked it first stopped with a traceback."""
    import gymnasium as gym

    from reward_preprocessing.experts.sb3 import check_sb3_zip
    from reward_preprocessing.experts.sb3_policy import load_sb3_policy

    path = tmp_path / "m.zip"
    path.write_bytes(MULTI_DISK_END)
    with pytest.raises(zipfile.BadZipFile, match="span multiple disks"):
        zipfile.is_zipfile(path)
    assert not is_zip(path)
    box, actions = gym.spaces.Box(-1.0, 1.0, (2,)), gym.spaces.Discrete(3)
    def policy(p: Path) -> object:
        return load_sb3_policy(p, box, actions, trust_pickle=True)

    for load in (torch_load, check_sb3_zip, open_procgen_npz, policy):
        with pytest.raises(ArtifactError, match="not a"):
            load(path)
