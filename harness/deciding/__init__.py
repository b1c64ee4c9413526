"""Evidence -> verdicts: the statistics fixed before the data is seen, the sequential rule of --seeds auto, the
writeup's numbers, one claim's check, and the smoke tier's pins and drift test."""
