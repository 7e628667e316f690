"""Application services: domain logic combined with storage adapters."""
