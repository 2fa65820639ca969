"""The training loop's two verbs: export traces as a dataset, and fine-tune a model on it."""
