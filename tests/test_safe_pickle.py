"""No code from a pickle: malicious model and trajectory files, with and without trust."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch as th

from reward_preprocessing.data.trajectory_files import load_trajectories, save_trajectories_npz
from reward_preprocessing.errors import ArtifactError, UserError
from reward_preprocessing.rewards import safe_pickle
from reward_preprocessing.rewards.imitation_import import import_imitation_reward_net
from tests.data import make_imitation_fixtures as fixtures

NUMPY2_DIR = Path(__file__).parent / "data" / "imitation_numpy2"


class Payload:
    """Unpickling this runs ``func(*args)``: the classic way a pickle runs code."""

    def __init__(self, func, args, state=None):
        self.func, self.args, self.state = func, args, state

    def __reduce__(self):
        return (self.func, self.args) if self.state is None else (self.func, self.args, self.state)


def payloads(marker: Path) -> dict[str, object]:
    import builtins
    import subprocess as sp

    code = f"open({str(marker)!r}, 'w').write('pwned')"
    return {
        "os.system": Payload(os.system, (f"touch {marker}",)),
        "builtins.eval": Payload(builtins.eval, (code,)),
        "builtins.exec": Payload(builtins.exec, (code,)),
        "subprocess.Popen": Payload(sp.Popen, (["touch", str(marker)],)),
        "builtins.open": Payload(builtins.open, (str(marker), "w")),
    }


def _evil_model(payload: object) -> th.nn.Module:
    """A real imitation reward net carrying the payload as an attribute (as a tampered file would)."""
    net = fixtures.make_nets()["mountain_car_basic"][1]
    net.extra = payload
    return net


@pytest.mark.parametrize("kind", ["os.system", "builtins.eval", "builtins.exec", "subprocess.Popen", "builtins.open"])
def test_malicious_pickles_never_run(kind, tmp_path):
    marker = tmp_path / "marker"
    payload = payloads(marker)[kind]
    (tmp_path / "plain.pkl").write_bytes(pickle.dumps(payload))
    (tmp_path / "list.pkl").write_bytes(pickle.dumps([payload]))
    th.save(payload, tmp_path / "bare.pt")
    th.save(_evil_model(payload), tmp_path / "model.pt")
    name = kind.split(".")[1]
    for trust in (False, True):
        for f in ("plain.pkl", "list.pkl"):
            with pytest.raises(UserError) as err:
                load_trajectories(tmp_path / f, trust_pickle=trust)
            assert ("refusing" in str(err.value) and name in str(err.value)) if trust else "--trust-pickle" in str(
                err.value)
        for f in ("bare.pt", "model.pt"):
            with pytest.raises(UserError) as err:
                import_imitation_reward_net(tmp_path / f, tmp_path / "out", fixtures.MOUNTAIN_CAR, trust_pickle=trust)
            assert ("refusing" in str(err.value) and name in str(err.value)) if trust else "--trust-pickle" in str(
                err.value)
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_malicious_model_through_the_script(tmp_path, repo_root):
    marker = tmp_path / "marker"
    th.save(_evil_model(payloads(marker)["os.system"]), tmp_path / "model.pt")
    for flags in ([], ["--trust-pickle"]):
        result = subprocess.run(
            [sys.executable, str(repo_root / "scripts" / "import_reward_net.py"), str(tmp_path / "model.pt"),
             "--env", fixtures.MOUNTAIN_CAR, "--out", str(tmp_path / "out"), *flags],
            capture_output=True, text=True, cwd=repo_root,
        )
        assert result.returncode == 2
        error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(error) == 1 and "Traceback" not in result.stderr
        assert ("refusing to load posix.system" in error[0]) if flags else ("--trust-pickle" in error[0])
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_classes_are_rebuilt_never_called(tmp_path):
    """An allowed class named by REDUCE (a constructor call with the file's arguments) is refused."""
    data = pickle.dumps(Payload(th.nn.Linear, (100_000, 100_000)))
    with pytest.raises(pickle.UnpicklingError, match="refusing to call"):
        safe_pickle.loads(data)
    # protocol 0/1 instance opcodes call the class too
    with pytest.raises(pickle.UnpicklingError):
        safe_pickle.loads(b"(c__builtin__\nset\no.")


def test_numpy_arrays_and_generators_round_trip():
    rng = np.random.default_rng(5)
    rng.random()
    value = {"a": np.arange(6.0).reshape(2, 3), "rng": rng, "dtype": np.dtype("int16"), "s": np.float32(2.5)}
    loaded = safe_pickle.loads(pickle.dumps(value, protocol=2))
    assert np.array_equal(loaded["a"], value["a"]) and loaded["dtype"] == value["dtype"] and loaded["s"] == 2.5
    assert loaded["rng"].random() == rng.random()


def test_plain_dtypes_load_and_malformed_dtype_states_are_refused():
    """Found by the .pt fuzzing: numpy's ``dtype.__setstate__`` raised a SystemError (no exception set) on a
    state with a function spliced in; a dtype's state must be that of a plain dtype, or it is refused."""
    plain = [np.dtype("u1"), np.dtype(">f8"), np.dtype("U5"), np.dtype("float32", metadata={"unit": "m"})]
    assert safe_pickle.loads(pickle.dumps(plain, protocol=2)) == plain
    spliced = (3, "<", np.core.multiarray._reconstruct, None, None, None, -1, -1, 0)
    structured = np.dtype([("a", "f4")]).__reduce__()[2]
    for state in (spliced, structured, (3, "<", None), "state"):
        with pytest.raises(pickle.UnpicklingError, match="plain numpy dtype"):
            safe_pickle.loads(pickle.dumps(Payload(np.dtype, ("f4", False, True), state), protocol=2))


def test_reference_rollouts_pkl_from_numpy2(tmp_path):
    with pytest.raises(UserError, match="--trust-pickle"):
        load_trajectories(NUMPY2_DIR / "rollouts.pkl")
    trajectories = load_trajectories(NUMPY2_DIR / "rollouts.pkl", trust_pickle=True)
    assert len(trajectories) == 2 and trajectories[0].obs.shape == (31, 2) and len(trajectories[0].rews) == 30
    # .npz round trip: same arrays, no pickle involved, byte-identical when written twice
    save_trajectories_npz(tmp_path / "a.npz", trajectories)
    save_trajectories_npz(tmp_path / "b.npz", trajectories)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    again = load_trajectories(tmp_path / "a.npz")
    for t, u in zip(trajectories, again, strict=True):
        assert np.array_equal(t.obs, u.obs) and np.array_equal(t.acts, u.acts) and np.array_equal(t.rews, u.rews)


def test_npz_with_object_arrays_is_not_unpickled(tmp_path):
    marker = tmp_path / "marker"
    np.savez(tmp_path / "t.npz", obs=np.array([payloads(marker)["os.system"]], dtype=object),
             acts=np.zeros(0), indices=np.zeros(0, int), rews=np.zeros(0))
    with pytest.raises(ArtifactError, match="Python objects"):
        load_trajectories(tmp_path / "t.npz", trust_pickle=True)
    assert not marker.exists()


def test_npz_claiming_a_huge_array_is_refused_before_allocating(tmp_path):
    import io
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**10, 4)})
    with zipfile.ZipFile(tmp_path / "t.npz", "w") as z:
        z.writestr("obs.npy", header.getvalue() + b"\0" * 64)
    with pytest.raises(ArtifactError, match="claims shape"):
        load_trajectories(tmp_path / "t.npz")


@pytest.mark.parametrize("data", [b"\x80\x04\x8b\x01\x00", b"\x80\x04G\x00\x00"], ids=["long4", "binfloat"])
def test_truncated_opcode_argument_is_one_artifact_error(data, tmp_path):
    """Found by the trajectory fuzzing: the unpickler reads these arguments with struct, whose error escaped."""
    path = tmp_path / "t.pkl"
    path.write_bytes(data)
    with pytest.raises(ArtifactError, match="cannot unpickle safely .error: unpack requires") as caught:
        safe_pickle.load_pickle_file(path)
    assert "\n" not in str(caught.value)
