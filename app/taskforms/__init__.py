"""JSON Schema forms from the top-level forms/ folder: loading, validation, formats."""
