"""A loopback Hugging Face Hub for tests: scenarios, lazy safetensors, faults, counters.

imagebuilder's code passes `endpoint=` to every Hub call, and tests must too
(`HfApi(endpoint=server.url)`): HF_ENDPOINT is read once when huggingface_hub is imported.
"""

from .blob import Blob, blob_from_spec
from .content import BytesContent, Content, RawContent, VirtualSafetensors, real_safetensors
from .repo import DELETE, Commit, Repo
from .scenario import SCENARIO_DIR, read_scenario
from .server import GATED_TOKEN, HubServer
from .stats import FaultRule, Faults, RequestRecord, Stats

__all__ = [
    "DELETE",
    "GATED_TOKEN",
    "SCENARIO_DIR",
    "Blob",
    "BytesContent",
    "Commit",
    "Content",
    "FaultRule",
    "Faults",
    "HubServer",
    "RawContent",
    "Repo",
    "RequestRecord",
    "Stats",
    "VirtualSafetensors",
    "blob_from_spec",
    "read_scenario",
    "real_safetensors",
]
