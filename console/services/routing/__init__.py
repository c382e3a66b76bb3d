"""Follow-up routing: the rules, the router, the worklist, callbacks, SLA escalation and
presence.
"""
