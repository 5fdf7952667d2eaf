"""URLs of the projects app's pages."""

app_name = "projects"
urlpatterns: list = []
