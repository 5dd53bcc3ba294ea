"""`import reward_preprocessing` registers the envs (as seals does), without importing torch."""

from __future__ import annotations

import subprocess
import sys


def test_import_registers_envs_without_torch(repo_root):
    code = (
        "import sys, gymnasium as gym, reward_preprocessing\n"
        "assert 'torch' not in sys.modules, 'import reward_preprocessing pulled in torch'\n"
        "for env_id in ('reward_preprocessing/MountainCar-v0', 'reward_preprocessing/EmptyMaze10-v0'):\n"
        "    gym.make(env_id).reset(seed=0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo_root,
                            env={"PYTHONPATH": str(repo_root), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
