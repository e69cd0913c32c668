"""The order a partner's auto pay rules are tried in (first match wins), as the partner sets it."""

from django.db import transaction

from arbridge.autopay.models import Rule

STEP = 10


def ordered(partner_id: int) -> list[Rule]:
    return list(Rule.objects.for_partner(partner_id).order_by("priority", "id"))


def next_priority(partner_id: int) -> int:
    """Return the priority that puts a new rule last."""
    last = Rule.objects.for_partner(partner_id).order_by("-priority").first()
    return (last.priority if last else 0) + STEP


def move(rule: Rule, offset: int) -> None:
    """Move a rule up (-1) or down (+1) among its partner's rules; renumber them 10, 20, 30…"""
    with transaction.atomic():
        # Locked, so two members reordering at once do not interleave.
        rules = list(
            Rule.objects.for_partner(rule.partner_id).select_for_update().order_by("priority", "id")
        )
        index = next(i for i, r in enumerate(rules) if r.pk == rule.pk)
        to = min(max(index + offset, 0), len(rules) - 1)
        rules.insert(to, rules.pop(index))
        for position, r in enumerate(rules, start=1):
            r.priority = position * STEP
        Rule.objects.bulk_update(rules, ["priority"])
