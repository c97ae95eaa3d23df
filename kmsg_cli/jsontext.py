"""Compact JSON text of kmsg's own plain data, with one encoder made once.

`json.JSONEncoder.encode` builds its C encoder anew on every call; send-many encodes a few
objects for every row it writes (job data, metadata, the content key's parts). The encoder
returned here is built once. It does not check for circular references (kmsg's data is plain:
a cycle would raise RecursionError instead of ValueError), which also keeps one encoder safe
to share between threads. The text is the same as `json.dumps(value, ensure_ascii=False,
separators=(",", ":"), sort_keys=sort_keys)` (tested).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def compact_encoder(*, sort_keys: bool = False) -> Callable[[Any], str]:
    """An encoder of JSON values to compact UTF-8 text (keys sorted with `sort_keys`)."""
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator in this Python
        return encoder.encode
    one_shot = make(
        None,
        encoder.default,
        json.encoder.encode_basestring,
        None,
        ":",
        ",",
        sort_keys,
        False,
        True,
    )
    return lambda value: "".join(one_shot(value, 0))
