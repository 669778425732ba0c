"""Decision makers (no torch): recorded LLM decisions, LSTMDecisionMaker, null strategies."""
