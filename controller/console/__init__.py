"""The practitioners' console (Textual): a client of the controller (docs/console.md)."""
