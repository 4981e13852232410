"""The flows. Importing this package registers every flow with `conversations.flow.REGISTRY`."""

from conversations.flows import apply, bind, checklist, documents, home, journey, plan, submit  # noqa: F401
