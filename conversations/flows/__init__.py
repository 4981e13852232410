"""The flows. Importing this package registers every flow with `conversations.flow.REGISTRY`."""

from conversations.flows import home  # noqa: F401
