"""Episodes: schema, reader, validator, Parquet store, synthetic generator and the Panel arrays."""
