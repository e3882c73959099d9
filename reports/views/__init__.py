from reports.views import records  # noqa: F401
