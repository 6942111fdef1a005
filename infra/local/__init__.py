"""The offline twin: AWS's services for Convene on one laptop, read from template.yaml."""
