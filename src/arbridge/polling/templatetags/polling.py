from django import template

from arbridge.polling.status import poll_status

register = template.Library()


@register.inclusion_tag("polling/_status.html", takes_context=True)
def polling_status(context, connection):
    """Show when the vendor's program last polled, what waits for it, and its last error."""
    request = context.get("request")
    membership = getattr(request, "membership", None)
    return {
        "connection": connection,
        "status": poll_status(connection),
        "can_manage": bool(membership and membership.can_manage()),
    }
