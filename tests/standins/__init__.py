"""Local stand-ins for external services (OAuth/OIDC provider...), following their documented APIs."""
