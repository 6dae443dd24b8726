"""Everything that is not a widget: importable and testable without Qt widgets."""
