"""URLs of the ledger app's pages."""

app_name = "ledger"
urlpatterns: list = []
