"""URLs of the billing app's pages."""

app_name = "billing"
urlpatterns: list = []
