"""Field work models."""
