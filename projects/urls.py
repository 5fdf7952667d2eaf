"""URLs of the projects app's pages."""

from django.urls import path

from projects import views

app_name = "projects"
urlpatterns = [
    path("", views.project_list, name="list"),
    path("<slug:code>/", views.project_detail, name="detail"),
    path("<slug:code>/rates/", views.rate_change, name="rate_change"),
    path("<slug:code>/milestones/<int:pk>/reach/", views.milestone_reach, name="milestone_reach"),
]
