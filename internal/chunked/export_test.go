package chunked

// MaxFetches exposes maxFetches to the external tests.
const MaxFetches = maxFetches
