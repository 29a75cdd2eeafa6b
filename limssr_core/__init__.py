"""LIMSSR Studio core: sequence-to-score reasoning with an LLM under incomplete multimodal observations."""

__version__ = "0.1.0"
