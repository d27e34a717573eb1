"""The HTTP layer: Chalice blueprints that translate requests into service calls and back."""
