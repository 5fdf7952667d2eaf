"""URLs of the timesheets app's pages."""

app_name = "timesheets"
urlpatterns: list = []
