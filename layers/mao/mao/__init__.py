"""MAO: multi-agent observability. Domain logic, AWS adapters and API plumbing shared by every function."""

__version__ = "0.1.0"
