"""Every claim under many conditions: gather.py trains and decides them (the driver of this flow), decide.py
lays the verdicts out as one matrix, report.py writes it."""
