"""Marketing flows: abandoned-checkout recovery and post-purchase sequences, as pure decisions
(no I/O here: ``service`` runs them over a unit of work).

    model        flow definitions (YAML → validated, CEL conditions compiled once)
    triggers     what starts a flow and the context its conditions read
    consent      who may receive which kind of mail
    enrollment   one customer's walk through one flow: state, history, re-entry cool-down
    steps        the next decision for an enrollment, given fresh facts and "now"
    quiet_hours  no marketing mail at night in the customer's own time zone
    frequency    a cross-flow cap that defers by priority instead of dropping
    attribution  which flow an order is credited to (last touch within a window)
    funnel       per-flow counts from enrollment histories
    unsubscribe  signed one-click unsubscribe tokens (RFC 8058)
    ports        what the flow runner needs from storage
    service      enrolling from checkouts, and the tick that wakes, decides, paces and asks for the emails
"""
