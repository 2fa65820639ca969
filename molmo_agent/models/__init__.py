"""In-process Molmo2-family models (transformers): loading, generating, building a tiny one for tests."""
