"""The shape of an architecture family (weights.families holds the data)."""

from __future__ import annotations

from dataclasses import dataclass

Shapes = dict[str, tuple[int, ...]]  # bare tensor name (no model prefix) -> shape


@dataclass(frozen=True)
class Knob:
    """An architecture number read from one tensor's shape (``shape[dim] // divide``)."""

    field: str  # hidden_size, in_channels, out_channels, text_dim
    key: str
    dim: int
    divide: int = 1


@dataclass(frozen=True)
class VariantRule:
    """A named variant inside a family: keys present or absent, a shape equal to a value."""

    name: str
    label: str
    present: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    shape: tuple[str, int, int] | None = None  # (key, dim, value)

    def matches(self, shapes: Shapes) -> bool:
        if any(key not in shapes for key in self.present):
            return False
        if any(key in shapes for key in self.absent):
            return False
        if self.shape is None:
            return True
        key, dim, value = self.shape
        found = shapes.get(key, ())
        return len(found) > dim and found[dim] == value


@dataclass(frozen=True)
class Family:
    name: str
    label: str
    kind: str  # the role its files usually have
    requires: tuple[str, ...]  # every one of these tensors is present
    blocks: str | None = None  # "<prefix><n>." counts the layers
    knobs: tuple[Knob, ...] = ()
    variants: tuple[VariantRule, ...] = ()  # first match wins
    lora_modules: str | None = None  # regex a LoRA target module of this family matches
    nominal_params: str = ""  # for the docs table: the released models' sizes
    shape_rank: tuple[str, int] | None = None  # (key, rank): that tensor has this many dims
