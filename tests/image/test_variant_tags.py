"""How variant images are tagged when `build` gets --tag."""

from __future__ import annotations

from imagebuilder.image.variants import variant_tags


def test_variant_tags_carry_the_variant_and_the_users_tags() -> None:
    assert variant_tags("steps3", "models-abc", ("v1.2",), baseline=False) == [
        "steps3",
        "models-abc",
        "v1.2-steps3",
    ]


def test_the_baseline_also_gets_the_bare_user_tag() -> None:
    assert variant_tags("steps4", "models-abc", ("v1.2", "latest"), baseline=True) == [
        "steps4",
        "models-abc",
        "v1.2-steps4",
        "latest-steps4",
        "v1.2",
        "latest",
    ]
