"""imagebuilder: declarative, verified model images for ComfyUI GPU workers."""

__version__ = "0.1.0"
