"""Developer tooling: local Kafka and the Voucherify stub server (not shipped in the wheel)."""
