"""Results of runs: metrics, exports, comparison tables and the HTML report."""
