"""MLflow's stage rule: which version a stage serves."""

import pytest

from modelrepo.domain.errors import InvalidInput
from modelrepo.domain.stages import (
    ARCHIVED,
    NONE,
    PRODUCTION,
    STAGE_TAG,
    STAGING,
    canonical_stage,
    serving_in_stage,
    stage_of,
)


def test_the_highest_numbered_version_in_a_stage_serves_it() -> None:
    stages = {1: PRODUCTION, 2: PRODUCTION, 3: STAGING, 4: ARCHIVED}
    assert serving_in_stage(stages, PRODUCTION) == 2
    assert serving_in_stage(stages, STAGING) == 3
    assert serving_in_stage({4: PRODUCTION, 2: PRODUCTION}, PRODUCTION) == 4


def test_a_stage_nobody_holds_serves_nothing() -> None:
    assert serving_in_stage({1: ARCHIVED}, PRODUCTION) is None
    assert serving_in_stage({}, STAGING) is None


@pytest.mark.parametrize("text", ["production", "PRODUCTION", " Production "])
def test_stages_are_named_without_regard_to_case(text: str) -> None:
    assert canonical_stage(text) == PRODUCTION


def test_an_unknown_stage_is_refused() -> None:
    with pytest.raises(InvalidInput, match="invalid stage 'Prod'"):
        canonical_stage("Prod")


def test_a_version_without_the_tag_is_in_no_stage() -> None:
    assert stage_of({}) == NONE
    assert stage_of({STAGE_TAG: ARCHIVED}) == ARCHIVED
