"""The kernel: what every business area shares and nothing business-specific.

Money, domain errors, the audit log, roles, validators, the clock, correlation ids, advisory
locks, outbound deliveries (webhooks), the API base and the user account. The kernel imports
no business app (import-linter checks it): ``ledger``, ``crm``, ``projects``, ``timesheets``
and ``billing`` build on it, and ``psa.automation`` sits on top of them all.

The Django app label stays ``psa`` (``AUTH_USER_MODEL = "psa.User"``, tables ``psa_*``).
"""
