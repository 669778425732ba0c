"""wfsim simulator: event loop, books, sync, metrics, exports, reports and the `wfsim` CLI."""
