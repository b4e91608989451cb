"""YAML read with each key of a mapping once.

YAML keeps the last of two equal keys, silently: a ``config.yaml`` with ``outbox:`` twice, or a
load file with a market's ``amount`` twice, would run with a value nobody chose. As a JSON body
with a key twice (``api.deps``), it is refused, with both lines.
"""

from __future__ import annotations

from collections.abc import Hashable

import yaml
from yaml.constructor import ConstructorError


class DuplicateKey(ConstructorError):
    """A key given twice in one mapping (``problem`` says which, and where, in French)."""


class UniqueKeyLoader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            first: dict[Hashable, int] = {}
            for key_node, _value in node.value:
                key = self.construct_object(key_node, deep=deep)
                if not isinstance(key, Hashable) or key == "<<":  # a merge is an override
                    continue
                line = key_node.start_mark.line + 1
                if key in first:
                    raise DuplicateKey(
                        None, None,
                        f"clé « {key} » en double (lignes {first[key]} et {line}) : YAML ne "
                        "garderait que la seconde ; gardez-en une",
                        key_node.start_mark,
                    )  # fmt: skip
                first[key] = line
        return super().construct_mapping(node, deep=deep)
