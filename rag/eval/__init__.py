"""Evaluation: gold sets, metrics, judges, reports."""
