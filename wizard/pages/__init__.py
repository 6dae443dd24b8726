"""The wizard's pages: one QWizardPage per file, widgets only, no protocol code."""
