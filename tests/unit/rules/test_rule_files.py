"""Reading rules files: actions as calls or mappings, YAML's traps, every problem of a file reported at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backroom.rules.model import (
    ActionCall,
    RuleDefinition,
    RuleInvalid,
    RuleMode,
    compile_all,
    parse_duration,
    parse_rules_text,
)


def test_actions_read_as_calls_or_mappings_alike() -> None:
    (defn,) = parse_rules_text("""
rules:
  - name: r
    when: order_created
    then:
      - hold_fulfillment
      - create_review_item(reason='check', title="Order {{ order.number }}")
      - notify_slack: {channel: '#ops', text: 'Held: {{ order.number }}'}
      - notify_slack(text='Held: order {{ order.number }}')
""")
    assert [(a.action, a.params) for a in defn.then] == [
        ("hold_fulfillment", {}),
        ("create_review_item", {"reason": "check", "title": "Order {{ order.number }}"}),
        ("notify_slack", {"channel": "#ops", "text": "Held: {{ order.number }}"}),
        ("notify_slack", {"text": "Held: order {{ order.number }}"}),  # YAML split it at ': '; read back whole
    ]
    assert defn.mode == RuleMode.SHADOW  # new rules start in shadow unless the file says otherwise
    assert defn.condition == "true"


def test_a_bare_off_is_the_mode_off_not_false() -> None:
    (defn,) = parse_rules_text("rules:\n  - {name: r, when: order_created, then: [hold_fulfillment], mode: off}")
    assert defn.mode == RuleMode.OFF


def test_call_parameters_must_be_literals() -> None:
    with pytest.raises(ValueError, match="parameter values must be literals"):
        ActionCall.parse("tag_order(tags=__import__('os'))")


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    definitions = parse_rules_text("""
rules:
  - name: a
    when: order_creatd
    then: [tag_order]
  - name: b
    when: stock_low
    then:
      - tag_order(tags='x')
      - frobnicate
      - notify_slack: {text: '{{ stock.nope }}'}
      - send_email(to='customer', subject='s', body='b')
  - name: c
    when: order_created
    then:
      - set_priority(priority=1000)
""")
    with pytest.raises(RuleInvalid) as caught:
        compile_all(definitions)
    assert caught.value.problems == {
        "a": ["unknown trigger 'order_creatd'; did you mean 'order_created'? (see `backroom rules triggers`)"],
        "b": ["tag_order(tags='x') needs an order, but stock_low is about a sku",
              "unknown action 'frobnicate' (see `backroom rules actions`)",
              "notify_slack: text: 'dict object' has no attribute 'nope'",
              "send_email(to='customer', subject='s', body='b') needs an order, but stock_low is about a sku"],
        "c": ["set_priority: priority: Input should be less than or equal to 100"],
    }


def test_duplicate_names_and_bad_shapes_are_refused() -> None:
    with pytest.raises(RuleInvalid) as caught:
        parse_rules_text("rules:\n  - {name: r, when: order_created, then: [tag_order]}\n"
                         "  - {name: r, when: order_created, then: [tag_order]}\n"
                         "  - {name: Bad Name, when: order_created, then: []}\n")
    assert caught.value.problems["r"] == ["the same name is used twice"]
    assert caught.value.problems["Bad Name"] == ["name: String should match pattern '^[a-z0-9][a-z0-9_\\-]{0,63}$'",
                                                 "then: List should have at least 1 item after validation, not 0"]


def test_the_versioned_definition_leaves_out_the_mode() -> None:
    defn = RuleDefinition.model_validate({"name": "r", "when": "order_created", "then": ["hold_fulfillment"],
                                          "mode": "live", "limit": {"max": 2, "window": "1h"}})
    assert defn.canonical() == {"name": "r", "description": "", "when": "order_created", "if": "true",
                                "then": [{"action": "hold_fulfillment", "params": {}}], "stop": False,
                                "limit": {"per": "subject", "max": 2, "window": "1h"}}


@pytest.mark.parametrize(("text", "delta"), [("90s", timedelta(seconds=90)), ("15m", timedelta(minutes=15)),
                                             ("24h", timedelta(hours=24)), ("90d", timedelta(days=90)),
                                             ("2w", timedelta(weeks=2))])
def test_durations(text: str, delta: timedelta) -> None:
    assert parse_duration(text) == delta


def test_a_bad_duration_says_what_is_expected() -> None:
    with pytest.raises(ValueError, match="is not a duration like 15m, 24h or 90d"):
        parse_duration("3 months")


def test_the_starter_pack_compiles() -> None:
    from importlib.resources import files

    rules = compile_all(parse_rules_text(files("backroom.rules").joinpath("starter.yaml").read_text()))
    assert {r.name: r.mode.value for r in rules} == {
        "tag_repeat_customer": "live", "bulk_order_priority": "live", "first_order_high_value": "off",
        "backorder_heads_up": "off", "stock_low_heads_up": "off", "big_first_order_welcome": "shadow",
        "bulk_first_order_review": "off"}
