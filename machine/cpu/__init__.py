"""The hart: instruction table, decoder, execution engine, CSRs and the Sv32 MMU."""
