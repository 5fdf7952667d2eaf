"""REST API of the timesheets app: time entries in and out (payroll, BI, other clients).

One view per operation; each delegates to timesheets.services / selectors, the same code the
week grid and the approvals inbox use, so every rule holds the same way.
"""

from django.urls import path

from timesheets.api.entries import (
    CellSave,
    EntryBulk,
    EntryDetail,
    EntryList,
    EntrySearch,
    WeekApprove,
    WeekReject,
    WeekSubmit,
)
from timesheets.api.expenses import ExpenseDetail, ExpenseListCreate
from timesheets.api.policies import PolicyDetail, PolicyListCreate

urlpatterns = [
    path("entries/", EntryList.as_view(), name="time-entries"),
    path("entries/search/", EntrySearch.as_view(), name="time-entry-search"),
    path("entries/bulk/", EntryBulk.as_view(), name="time-entry-bulk"),
    path("entries/<int:pk>/", EntryDetail.as_view(), name="time-entry"),
    path("expenses/", ExpenseListCreate.as_view(), name="expenses"),
    path("expenses/<int:pk>/", ExpenseDetail.as_view(), name="expense"),
    path("approval-policies/", PolicyListCreate.as_view(), name="approval-policies"),
    path("approval-policies/<int:pk>/", PolicyDetail.as_view(), name="approval-policy"),
    path("cell/", CellSave.as_view(), name="time-cell"),
    path("weeks/submit/", WeekSubmit.as_view(), name="time-week-submit"),
    path("weeks/approve/", WeekApprove.as_view(), name="time-week-approve"),
    path("weeks/reject/", WeekReject.as_view(), name="time-week-reject"),
]
