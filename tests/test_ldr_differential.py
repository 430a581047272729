"""The ldr_patterns re-creations give LDR's verdicts on the same checks, except where documented."""

from __future__ import annotations

import pytest
from leaklab.ldr_diff import KNOWN_DIFFERENCES, differential, mirrors
from leaklab.ldr_env import LdrEnvError, find_ldr_python


def test_every_mirror_names_a_release_and_has_checks() -> None:
    found = mirrors()
    assert {m.pattern.split(":")[0] for m in found} >= {
        "ldr_patterns.close_llm",
        "ldr_patterns.safe_close",
        "ldr_patterns.search_engine",
    }
    for mirror in found:
        assert mirror.release.count(".") == 2, mirror
        assert mirror.check_ids(), f"{mirror.pattern}: no check calls {mirror.function}"


@pytest.mark.slow
def test_same_checks_same_verdicts_except_the_documented_differences() -> None:
    try:
        find_ldr_python()
    except LdrEnvError as exc:
        pytest.skip(str(exc))
    rows = differential()
    assert len(rows) >= 6
    differ = {(r.mirror.pattern, r.check): (r.ldr, r.pattern) for r in rows if r.differs}
    assert set(differ) == set(KNOWN_DIFFERENCES), differ
