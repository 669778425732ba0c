"""Ticker-LSTM models: leakage-free features, walk-forward windows, training, registry."""
