from limssr_core.reports.text import interval_sentence


def payload(**extra):
    return {"interval": {"level": 0.9, "low": 58.1, "high": 70.6, "n_calibration": 60, "modalities": ["video"],
                         "reason": ""}, "percentile": 62.0, "missing_modalities": ["audio"],
            "withheld_modalities": []} | extra


def test_the_interval_sentence_names_the_condition_and_percentile():
    assert interval_sentence(payload()) == ("90% interval 58.1-70.6 (audio missing); 62nd percentile of the "
                                            "training scores")


def test_an_ensemble_adds_the_range_of_its_members():
    assert interval_sentence(payload(member_scores=[61.04, 66.21, 63.0])).endswith(
        "; its 3 members give 61.0-66.2")
    assert "members" not in interval_sentence(payload(member_scores=[]))  # one model: nothing to add
