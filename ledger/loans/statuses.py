"""Loan statuses and the events that move a loan between them (SPEC §4)."""

from __future__ import annotations






#: Loans whose outstanding principal counts against the pool's leverage limit.
LIVE_STATUSES = ("active", "defaulted", "claimed")
#: Non-performing loans (NPL numerator).
NPL_STATUSES = ("defaulted", "claimed", "compensated")
#: Loans whose outstanding principal is still on the bank's books (NPL denominator).
OUTSTANDING_STATUSES = ("active", "defaulted", "claimed", "compensated")
EVENT_TYPES = ("repayment", "default", "repaid", "cancel")
#: Event type -> (statuses it may be reported in, status afterwards).
TRANSITIONS = {
    "repayment": (("active",), "active"),
    "default": (("active",), "defaulted"),
    "repaid": (("active",), "repaid"),
    "cancel": (("active",), "cancelled"),
}
