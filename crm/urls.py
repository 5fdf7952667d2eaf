"""URLs of the crm app's pages."""

app_name = "crm"
urlpatterns: list = []
