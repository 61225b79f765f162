"""The image's own start path: the entrypoint that imagebuilder installs in every image.

It runs inside the worker image, under the base image's Python: it imports nothing from
imagebuilder, the standard library only (tests/test_layout.py holds that). It wraps the
base image's own command (worker-comfyui's handler still serves jobs) and, configured by the
/imagebuilder/start.json that `render` and `publish` write from models.yaml:

- joins files that were published as parts (reflink, else copy_file_range);
- prefetches the model files into the page cache with several low-priority readers, in
  the order the first job needs them, while ComfyUI starts;
- adds ComfyUI flags chosen by measurement (an injected sitecustomize appends them to
  ComfyUI's own command line; ComfyUI's files are never changed);
- warms ComfyUI up: the shipped workflow runs once on a tiny input as soon as ComfyUI
  answers, so the models are loaded before the first real job.

Every part is optional and off-switchable (start.json, or IMAGEBUILDER_START=0 for all
of it); a failure in any part is logged as a JSON line and never stops the worker.
docs/cold-start.md describes it.
"""
