"""The published protocols of model families: what a checkpoint was trained to read and to answer."""
