"""Decision makers (no torch): recorded LLM decisions, LSTMDecisionMaker, null and SPY strategies."""
