"""An image's labels read straight from its registry: no engine, no pull.

`publish` leaves images only in a registry; `inspect-image` and `diff` read them here.
"""

from __future__ import annotations

from imagebuilder.image.publish.request import DEFAULT_PLATFORM
from imagebuilder.image.publish.run import read_image
from imagebuilder.oci.auth import RegistryRole
from imagebuilder.oci.client import open_registry
from imagebuilder.oci.reference import parse_reference


def registry_labels(image: str) -> dict[str, str]:
    """The labels of ``image`` (name[:tag][@digest]) in its registry's config blob.

    Read as a source: its registry gets the Docker config's credentials for its host,
    never the target registry's pair from the environment."""
    ref = parse_reference(image)
    client = open_registry(ref.api_host, RegistryRole.SOURCE)
    try:
        _, config = read_image(
            client, ref.repository, ref.digest or ref.tag or "latest", DEFAULT_PLATFORM
        )
    finally:
        client.close()
    labels = (config.get("config") or {}).get("Labels") or {}
    if not isinstance(labels, dict):
        return {}
    return {str(key): str(value) for key, value in labels.items()}
