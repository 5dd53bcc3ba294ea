"""Figures: gridworld reward heatmaps (matplotlib PNG/PDF and plotly HTML) and the tables they read."""
