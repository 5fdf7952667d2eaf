"""Django admin for billing."""
